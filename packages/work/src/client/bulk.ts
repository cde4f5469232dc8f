/** Bulk actions page after page, their counts added up. */

import type { BulkRequest, BulkResult } from "../requests.js";

/** Reasons kept over all pages: enough to see what went wrong, never a wall of them. */
const REASONS_KEPT = 20;

/** A bulk action so far: every page's counts added up. */
export interface BulkProgress {
  /** How many works the caller confirmed (POST /view/count when it asked). */
  confirmed: number;
  matched: number;
  done: number;
  refused: number;
  reasons: { id?: string | undefined; message: string }[];
  /** False when `signal` stopped it between pages: a second run carries on where it stopped. */
  complete: boolean;
}

/**
 * A bulk action over a filter of any size: POST /work/bulk page after page, each resuming after
 * the last, until the service says there is no more. Each page is confirmed for what is left of
 * the count the caller was shown, so works arriving meanwhile stop it rather than be swept along.
 * Works already acted on leave the filter (deleted, queued again, cancelled), so running the same
 * action again after an interruption does what is left, and counts only that.
 * Browser-safe: the dashboard runs it with its own `send`.
 */
export async function bulkInPages(
  send: (request: BulkRequest) => Promise<BulkResult>,
  request: Omit<BulkRequest, "after">,
  { onPage, signal }: { onPage?: (progress: BulkProgress) => void; signal?: AbortSignal } = {},
): Promise<BulkProgress> {
  const progress: BulkProgress = {
    confirmed: request.confirmed,
    matched: 0,
    done: 0,
    refused: 0,
    reasons: [],
    complete: false,
  };
  let after: string | undefined;
  for (;;) {
    const page = await send({
      ...request,
      confirmed: Math.max(0, request.confirmed - progress.matched),
      ...(after ? { after } : {}),
    });
    progress.matched += page.matched;
    progress.done += page.done;
    progress.refused += page.refused;
    progress.reasons.push(...page.reasons.slice(0, REASONS_KEPT - progress.reasons.length));
    after = page.next;
    progress.complete = after === undefined;
    onPage?.(progress);
    if (progress.complete || signal?.aborted) return progress;
  }
}
