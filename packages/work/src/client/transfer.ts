/** Moves finished works from the queue into the results store. */

import type { BucketsClient } from "./client.js";
import type { ResultsClient } from "./results.js";

/** Finished works, as `workflow transfer` takes them: successes, and failures with no retry ahead. */
export const FINISHED: Record<string, unknown> = {
  $or: [{ status: "success" }, { status: "failure", retryAt: { $exists: false } }],
};

/** The works one round moves. @defaultValue 500 */
export const TRANSFER_BATCH = 500;

export interface TransferOptions {
  /** Works per round. @defaultValue TRANSFER_BATCH */
  batch?: number;
  /** Called once a round's works are kept in results, before they leave the queue. */
  onKept?: (ids: string[]) => void | Promise<void>;
}

export interface Transferred {
  /** Works kept in results, then deleted from the queue. */
  kept: number;
  /** Works whose config.archive.results is false: deleted without being kept. */
  dropped: number;
}

/**
 * Moves finished works from the queue to the results store until none is left. Each round keeps
 * its works in results (journaled) before deleting them from the queue, so a crash of either side
 * in between loses nothing: the next round finds them still queued and keeps them again, which
 * changes nothing (results are kept once per work id), then deletes them.
 */
export async function transferFinished(
  buckets: BucketsClient,
  results: ResultsClient,
  { batch = TRANSFER_BATCH, onKept }: TransferOptions = {},
): Promise<Transferred> {
  const done: Transferred = { kept: 0, dropped: 0 };
  for (;;) {
    const works = await buckets.view(FINISHED, { limit: batch });
    if (works.length === 0) return done;
    const keep = works.filter((work) => work.config?.archive?.results !== false);
    if (keep.length > 0) {
      await results.deposit(keep);
      await onKept?.(keep.map((work) => work.id));
    }
    await buckets.delete(works.map((work) => work.id));
    done.kept += keep.length;
    done.dropped += works.length - keep.length;
  }
}
