/**
 * The pieces every transition that ends an attempt shares, as aggregation expressions for
 * pipeline updates: each transition stays one conditional write, computed from the document.
 */

import type { Document } from "mongodb";

/** The longest a failed work waits before its retry, in seconds. */
export const BACKOFF_CAP_SECONDS = 600;

/** Attempts that count against `retries`: released ones do not. */
const COUNTED: Document = { $subtract: ["$attempt", { $ifNull: ["$uncounted", 0] }] };

/** `hasRetriesLeft` of @workflow/work, inside MongoDB: counted attempts are at most `retries`. */
export const RETRIES_LEFT: Document = { $lte: [COUNTED, "$retries"] };

/**
 * Seconds before the next attempt: 1 s after the first failure, doubling after each, capped at
 * 10 minutes, with +-20% jitter so that works failed together do not retry together; never under 1 s.
 */
const BACKOFF: Document = {
  $max: [
    1,
    {
      $multiply: [
        {
          $min: [BACKOFF_CAP_SECONDS, { $pow: [2, { $max: [0, { $subtract: [COUNTED, 1] }] }] }],
        },
        { $add: [0.8, { $multiply: [0.4, { $rand: {} }] }] },
      ],
    },
  ],
};

/** When a failed attempt runs again, or no `retryAt` at all when its retries are used up. */
export function retryAtAfter(now: number): Document {
  return { $cond: [RETRIES_LEFT, { $add: [now, BACKOFF] }, "$$REMOVE"] };
}

/**
 * Closes the current attempt's history entry (the one whose attempt equals the document's).
 * `when` narrows it further.
 */
export function closeCurrentEntry(
  stop: number,
  status: string,
  error?: unknown,
  when?: Document,
): Document {
  const current = { $eq: ["$$h.attempt", "$attempt"] };
  return {
    $map: {
      input: { $ifNull: ["$history", []] },
      as: "h",
      in: {
        $cond: [
          when ? { $and: [current, when] } : current,
          {
            $mergeObjects: ["$$h", { stop, status, ...(error === undefined ? {} : { error }) }],
          },
          "$$h",
        ],
      },
    },
  };
}
