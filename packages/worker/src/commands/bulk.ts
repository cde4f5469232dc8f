/** Bulk actions by filter, page after page with progress, stoppable between pages. */

import {
  type BULK_ACTIONS,
  type BucketsClient,
  type BulkProgress,
  bulkInPages,
} from "@workflow/work";

type Action = (typeof BULK_ACTIONS)[number];

/** What each action did, as the progress lines and the summary say it. */
const DONE: Record<Action, string> = {
  retry: "retried",
  cancel: "cancelled",
  delete: "deleted",
};

/**
 * rm, retry and cancel by filter: POST /work/bulk page after page, a progress line on stderr
 * after each (unless quiet), and Ctrl-C stops between pages, saying how far it got: the works
 * done have left the filter, so the same command run again carries on with the rest.
 */
export async function bulkAction(
  client: BucketsClient,
  action: Action,
  query: Record<string, unknown>,
  confirmed: number,
  { quiet }: { quiet: boolean },
): Promise<BulkProgress> {
  const stop = new AbortController();
  const interrupted = () => stop.abort();
  process.once("SIGINT", interrupted);
  try {
    const progress = await bulkInPages(
      (r) => client.bulk(r),
      { action, query, confirmed },
      {
        signal: stop.signal,
        onPage: (p) => {
          if (!quiet && !p.complete && !stop.signal.aborted) {
            process.stderr.write(`${DONE[action]} ${p.done} of ${p.confirmed} works so far\n`);
          }
        },
      },
    );
    if (!progress.complete) {
      process.stderr.write(
        `workflow: interrupted: ${DONE[action]} ${progress.done} of ${progress.confirmed} works; run the same command again to carry on with the rest\n`,
      );
      process.exitCode = 130;
    }
    return progress;
  } finally {
    process.removeListener("SIGINT", interrupted);
  }
}

/** The refusals of a bulk action, one line each, then how many more were not said. */
export function refusalsOf(progress: BulkProgress, verb: string): string[] {
  const lines = progress.reasons.map((r) => (r.id ? `${r.id}: ${r.message}` : r.message));
  const unsaid = progress.refused - progress.reasons.length;
  if (unsaid > 0) lines.push(`and ${unsaid} more not ${verb}`);
  return lines;
}
