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
