/** The store's cancel of an unfinished work, as one conditional write. */

import type { Collection, ObjectId } from "mongodb";
import { TRANSITIONS } from "../machine.js";
import { ATTEMPT_FIELDS, closeCurrentEntry } from "./attempt.js";
import type { WorkDoc } from "./documents.js";

/** Statuses a cancel applies to; a failure only while a retry is to come. */
const unfinished = TRANSITIONS.cancel.from.filter((s) => s !== "failure");

/** Cancels a work that has not finished. Answers whether it did. */
export async function cancel(
  collection: Collection<WorkDoc>,
  { _id, pipeline }: { _id: ObjectId; pipeline: string },
  now: number,
): Promise<boolean> {
  const { matchedCount } = await collection.updateOne(
    {
      _id,
      pipeline,
      $or: [{ status: { $in: unfinished } }, { status: "failure", retryAt: { $exists: true } }],
    },
    [
      {
        $set: {
          status: TRANSITIONS.cancel.to,
          stop: now,
          history: closeCurrentEntry(now, "cancelled", undefined, { $eq: ["$status", "running"] }),
        },
      },
      { $unset: [...ATTEMPT_FIELDS, "retryAt"] },
    ],
  );
  return matchedCount === 1;
}
