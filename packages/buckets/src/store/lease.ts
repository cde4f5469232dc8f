import type { Collection, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { closeCurrentEntry } from "./history.js";

export type HeartbeatResult =
  | { kind: "extended" }
  | { kind: "cancelled" }
  | { kind: "stale"; attempt: number; status: string }
  | { kind: "missing" };

/** Extends attempt `attempt`'s lease, never past its deadline; says why when it cannot. */
export async function heartbeat(
  collection: Collection<WorkDoc>,
  _id: ObjectId,
  attempt: number,
  now: number,
  leaseSeconds: number,
): Promise<HeartbeatResult> {
  const extended = await collection.updateOne({ _id, attempt, status: "running" }, [
    {
      $set: {
        leaseUntil: { $min: [now + leaseSeconds, { $ifNull: ["$deadline", now + leaseSeconds] }] },
      },
    },
  ]);
  if (extended.matchedCount === 1) return { kind: "extended" };
  const doc = await collection.findOne({ _id }, { projection: { attempt: 1, status: 1 } });
  if (!doc) return { kind: "missing" };
  if (doc.attempt === attempt && doc.status === "cancelled") return { kind: "cancelled" };
  return { kind: "stale", attempt: doc.attempt, status: doc.status };
}

/** Cancels a work that has not finished. Answers the status it had, or null when it was finished or absent. */
export async function cancel(
  collection: Collection<WorkDoc>,
  _id: ObjectId,
  now: number,
): Promise<WorkDoc | null> {
  return collection.findOneAndUpdate(
    { _id, status: { $in: ["created", "queued", "running"] } },
    [
      {
        $set: {
          status: "cancelled",
          stop: now,
          history: closeCurrentEntry(now, "cancelled", undefined, { $eq: ["$status", "running"] }),
        },
      },
      { $unset: ["leaseUntil", "deadline"] },
    ],
    { returnDocument: "before" },
  );
}
