/** A work in one line of a table: how long it ran, and what it said. */

import { droppedBytesOf, RESULTS_MAX_BYTES, type StoredWork } from "@workflow/work";

/** How long the last attempt ran (so far, while running), as people write it: 4.2s, 3m05s, 2h07m. */
export function duration(work: StoredWork, now = Date.now() / 1000): string | undefined {
  if (work.start === undefined) return undefined;
  const end = work.status === "running" ? now : work.stop;
  if (end === undefined || end < work.start) return undefined;
  const seconds = end - work.start;
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const pad = (n: number) => String(Math.floor(n)).padStart(2, "0");
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h${pad((seconds % 3600) / 60)}m`;
}

/** A failure's error, else the results as compact JSON; cut to `width` characters. */
export function outcomeOf(work: StoredWork, width: number): string | undefined {
  const error =
    typeof work.results?.error === "string"
      ? work.results.error
      : work.history?.findLast((entry) => entry.error !== undefined)?.error;
  const text =
    work.status === "failure" && error !== undefined
      ? `error: ${error}`
      : work.results === undefined
        ? undefined
        : JSON.stringify(work.results);
  if (text === undefined) return undefined;
  const line = text.replace(/\s+/g, " ");
  return line.length > width ? `${line.slice(0, width - 3)}...` : line;
}

/**
 * The status as people should read it: a success whose results were over the cap and dropped
 * says so, where the eye goes, rather than only in results.error.
 */
export function statusLine(work: StoredWork): string {
  const dropped = droppedBytesOf(work.results);
  if (dropped === undefined) return work.status;
  const mb = (bytes: number) => (bytes / 1_000_000).toFixed(2);
  return `${work.status} (${mb(dropped)} MB of results dropped, the cap is ${+mb(RESULTS_MAX_BYTES)} MB)`;
}
