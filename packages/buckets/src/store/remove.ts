import type { Collection, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";

export async function removeWorks(
  collection: Collection<WorkDoc>,
  ids: ObjectId[],
): Promise<number> {
  const { deletedCount } = await collection.deleteMany({ _id: { $in: ids } });
  return deletedCount;
}
