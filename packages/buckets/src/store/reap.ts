import type { Collection, Filter } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { closeCurrentEntry } from "./history.js";

export interface Expired {
  requeued: number;
  failed: number;
}

/** Seconds of backoff before attempt+1, computed inside MongoDB (same curve as service/backoff.ts). */
const backoff = {
  $multiply: [
    { $min: [600, { $pow: [2, { $max: [0, { $subtract: ["$attempt", 1] }] }] }] },
    { $add: [0.8, { $multiply: [0.4, { $rand: {} }] }] },
  ],
};

const retriesLeft = { $lte: ["$attempt", "$retries"] };

/**
 * Ends running attempts whose lease lapsed or whose timeout passed: back to the queue after a
 * backoff while retries are left, else a final failure. Each is one conditional updateMany, so
 * with several service instances every expiry is applied exactly once.
 */
export async function expireLapsed(collection: Collection<WorkDoc>, now: number): Promise<Expired> {
  const lapsed: Filter<WorkDoc> = { status: "running", leaseUntil: { $lt: now } };
  const reason = {
    $cond: [
      { $gte: [now, { $ifNull: ["$deadline", Infinity] }] },
      "timed out",
      "lease expired: the worker went silent",
    ],
  };
  const end = (status: "queued" | "failure") => [
    {
      $set: {
        status,
        stop: now,
        history: closeCurrentEntry(now, "expired", reason),
        notBefore: status === "queued" ? { $add: [now, backoff] } : 0,
      },
    },
    { $unset: ["leaseUntil", "deadline"] },
  ];
  const requeued = await collection.updateMany({ ...lapsed, $expr: retriesLeft }, end("queued"));
  const failed = await collection.updateMany(
    { ...lapsed, $expr: { $not: [retriesLeft] } },
    end("failure"),
  );
  return { requeued: requeued.modifiedCount, failed: failed.modifiedCount };
}

/** CHIME's /audit/failed: failures that still have retries go back to the queue. */
export async function requeueFailed(collection: Collection<WorkDoc>): Promise<number> {
  const { modifiedCount } = await collection.updateMany(
    { status: "failure", givenUp: { $ne: true }, $expr: retriesLeft },
    { $set: { status: "queued", notBefore: 0 } },
  );
  return modifiedCount;
}

/** CHIME's /audit/stale: unfinished works created before `before` become failures. */
export async function failStale(
  collection: Collection<WorkDoc>,
  before: number,
  now: number,
): Promise<number> {
  const { modifiedCount } = await collection.updateMany(
    { creation: { $lt: before }, status: { $in: ["created", "queued", "running"] } },
    [
      {
        $set: {
          status: "failure",
          stop: now,
          // Final: the failed audit must not bring it back.
          givenUp: true,
          history: closeCurrentEntry(now, "failure", "stale: not finished in time"),
        },
      },
      { $unset: ["leaseUntil", "deadline"] },
    ],
  );
  return modifiedCount;
}
