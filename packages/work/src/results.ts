/** The cap on a work's `results`, and what takes their place when they are dropped. */

/** The largest `results` a work may carry: bytes of its JSON in UTF-8. Larger outputs go in `products`. */
export const RESULTS_MAX_BYTES = 4_000_000;

/** Bytes of `JSON.stringify(results)` in UTF-8. */
export function resultsSize(results: unknown): number {
  if (results === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(results) ?? "", "utf8");
}

/** Whether results fit under the cap; the message says by how much when they do not. */
export function checkResultsSize(results: unknown): { ok: true } | { ok: false; message: string } {
  const size = resultsSize(results);
  if (size <= RESULTS_MAX_BYTES) return { ok: true };
  return {
    ok: false,
    message: `results are ${size} bytes, over the ${RESULTS_MAX_BYTES}-byte cap; put large outputs in products`,
  };
}

/** What a worker reports in place of results over the cap: why, and how large they were. */
export type DroppedResults = {
  error: string;
  /** The size of the results dropped: what tells this note from results a work wrote itself. */
  droppedBytes: number;
};

/** The note that takes the place of results over the cap. */
export function droppedResults(results: unknown): DroppedResults {
  const size = checkResultsSize(results);
  const reason = size.ok ? "results were dropped" : `results dropped: ${size.message}`;
  return { error: reason, droppedBytes: resultsSize(results) };
}

/** The size of the results a work's note says were dropped, or undefined when none were. */
export function droppedBytesOf(results: unknown): number | undefined {
  if (typeof results !== "object" || results === null) return undefined;
  const bytes = (results as { droppedBytes?: unknown }).droppedBytes;
  return typeof bytes === "number" ? bytes : undefined;
}
