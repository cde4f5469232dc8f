/** The store's deletes of works. */

import type { Collection, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

export async function removeWorks(
  collection: Collection<WorkDoc>,
  ids: ObjectId[],
): Promise<number> {
  const { deletedCount } = await collection.deleteMany(
    { _id: { $in: ids } },
    scatter("deleting works by id alone"),
  );
  return deletedCount;
}
