import type { Document } from "mongodb";

/**
 * An aggregation expression that closes the current attempt's history entry (the one whose
 * attempt equals the document's), for use inside pipeline updates. `when` narrows it further.
 */
export function closeCurrentEntry(
  now: number,
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
            $mergeObjects: [
              "$$h",
              { stop: now, status, ...(error === undefined ? {} : { error }) },
            ],
          },
          "$$h",
        ],
      },
    },
  };
}
