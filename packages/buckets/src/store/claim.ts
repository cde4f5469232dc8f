import { type Collection, type Document, type Filter, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";

export interface ClaimOptions {
  /** Unix seconds. */
  now: number;
  leaseSeconds: number;
  /** Who claims: recorded in the attempt's history entry. */
  worker: string;
}

export const CLAIM_SORT = { priority: -1, creation: 1 } as const;
export const HISTORY_LIMIT = 20;

/**
 * The worker enforces a work's timeout itself (and needs a few seconds to kill and report). The
 * service ends the attempt this much later, for workers that died: the two never race.
 */
export const DEADLINE_GRACE_SECONDS = 30;

/** The filter every claim adds: queued, and not held back by a retry's backoff. */
export function claimable(filter: Filter<WorkDoc>, now: number): Filter<WorkDoc> {
  return { ...filter, status: "queued", notBefore: { $lte: now } };
}

/** The claim itself, as a pipeline update: attempt, lease and history derive from the document. */
function claimUpdate({ now, leaseSeconds, worker }: ClaimOptions, token?: ObjectId): Document[] {
  const attempt = { $add: ["$attempt", 1] };
  const deadline = { $add: [now + DEADLINE_GRACE_SECONDS, "$timeout"] };
  return [
    {
      $set: {
        status: "running",
        start: now,
        attempt,
        deadline,
        leaseUntil: { $min: [now + leaseSeconds, deadline] },
        history: {
          $slice: [
            {
              $concatArrays: [
                { $ifNull: ["$history", []] },
                [{ attempt, worker: { $literal: worker }, start: now, status: "running" }],
              ],
            },
            -HISTORY_LIMIT,
          ],
        },
        ...(token ? { claimToken: token } : {}),
      },
    },
    { $unset: token ? ["stop"] : ["stop", "claimToken"] },
  ];
}

/** Claims the first matching work in claim order with one atomic findOneAndUpdate. */
export async function claimOne(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  options: ClaimOptions,
): Promise<WorkDoc | null> {
  return collection.findOneAndUpdate(claimable(filter, options.now), claimUpdate(options), {
    sort: CLAIM_SORT,
    returnDocument: "after",
  });
}

/**
 * Claims up to `count` works in three round trips instead of `count`: read the first candidates in
 * claim order, claim those still queued with one updateMany (each document's update is atomic, so
 * a candidate another worker took meanwhile is skipped), then read back what this call claimed.
 */
export async function claimMany(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  count: number,
  options: ClaimOptions,
): Promise<WorkDoc[]> {
  const candidates = await collection
    .find(claimable(filter, options.now), {
      projection: { _id: 1 },
      sort: CLAIM_SORT,
      limit: count,
    })
    .toArray();
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c._id);
  const token = new ObjectId();
  await collection.updateMany(
    { _id: { $in: ids }, status: "queued", notBefore: { $lte: options.now } },
    claimUpdate(options, token),
  );
  const claimed = await collection.find({ _id: { $in: ids }, claimToken: token }).toArray();
  const order = new Map(ids.map((id, i) => [id.toHexString(), i]));
  return claimed.sort(
    (a, b) => (order.get(a._id.toHexString()) ?? 0) - (order.get(b._id.toHexString()) ?? 0),
  );
}
