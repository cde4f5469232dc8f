import type { Collection, Filter } from "mongodb";
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

/** The filter every claim adds: queued, and not held back by a retry's backoff. */
export function claimable(filter: Filter<WorkDoc>, now: number): Filter<WorkDoc> {
  return { ...filter, status: "queued", notBefore: { $lte: now } };
}

/**
 * Claims the first matching work in claim order with one atomic findOneAndUpdate. The update is a
 * pipeline so that the attempt number, lease and history entry derive from the document itself.
 */
export async function claimOne(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  { now, leaseSeconds, worker }: ClaimOptions,
): Promise<WorkDoc | null> {
  const attempt = { $add: ["$attempt", 1] };
  const deadline = { $add: [now, "$timeout"] };
  return collection.findOneAndUpdate(
    claimable(filter, now),
    [
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
        },
      },
      { $unset: ["stop"] },
    ],
    { sort: CLAIM_SORT, returnDocument: "after" },
  );
}
