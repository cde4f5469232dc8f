/** The store's cancel of an unfinished work, as one conditional write. */

import type { Collection, ObjectId } from "mongodb";
import { closeCurrentEntry } from "./attempt.js";
import type { WorkDoc } from "./documents.js";
import { fromFilter, transitionUpdate } from "./transitions.js";

/** The cancel's update: a running attempt's history entry ends as cancelled. */
export const cancelUpdate = (now: number) =>
  transitionUpdate("cancel", {
    stop: now,
    history: closeCurrentEntry(now, "cancelled", undefined, { $eq: ["$status", "running"] }),
  });

/** Cancels a work that has not finished. Answers whether it did. */
export async function cancel(
  collection: Collection<WorkDoc>,
  { _id, pipeline }: { _id: ObjectId; pipeline: string },
  now: number,
): Promise<boolean> {
  const { matchedCount } = await collection.updateOne(
    { _id, pipeline, ...fromFilter("cancel") },
    cancelUpdate(now),
  );
  return matchedCount === 1;
}
