/** A work's output lines and log batches, as worker and service exchange them. */

import { z } from "zod";

/** Where a line of a work's output came from. */
export const LOG_STREAMS = ["stdout", "stderr"] as const;
export type LogStream = (typeof LOG_STREAMS)[number];

/** The longest line kept whole, in characters: longer ones arrive as several lines. */
export const MAX_LOG_LINE_CHARS = 16 * 1024;
/** The most lines one append may carry. */
export const MAX_LOG_BATCH_LINES = 10_000;
/** The most text one append may carry, in characters (the worker sends about 64 KB at a time). */
export const MAX_LOG_BATCH_CHARS = 1024 * 1024;
/**
 * The most output kept per attempt, in bytes: each line's text and LOG_LINE_OVERHEAD_BYTES more.
 * Older lines are cut, with a marker.
 */
export const MAX_LOG_BYTES_PER_ATTEMPT = 10 * 1024 * 1024;
/**
 * What a line costs beyond its text (its time, stream and framing, stored and answered): counted
 * against MAX_LOG_BYTES_PER_ATTEMPT, so that ten million empty lines do not fit in "10 MB".
 */
export const LOG_LINE_OVERHEAD_BYTES = 64;
/** The most lines kept per attempt: older lines are cut past it too. */
export const MAX_LOG_LINES_PER_ATTEMPT = 100_000;
/** The most lines one page of `GET /work/:id/logs?format=json` answers (also its default). */
export const MAX_LOG_PAGE_LINES = 10_000;

/** One line of a work's output: when it was written (unix ms), on which stream, and its text. */
export const LogLineSchema = z.object({
  t: z.number().finite().nonnegative(),
  stream: z.enum(LOG_STREAMS),
  text: z.string().max(MAX_LOG_LINE_CHARS),
});
export type LogLine = z.infer<typeof LogLineSchema>;

/** What a worker appends to its attempt's logs: `POST /work/:id/logs?attempt=N`. */
export const LogAppendSchema = z
  .object({ lines: z.array(LogLineSchema).min(1).max(MAX_LOG_BATCH_LINES) })
  .refine(
    (batch) => batch.lines.reduce((n, line) => n + line.text.length, 0) <= MAX_LOG_BATCH_CHARS,
    {
      message: `a batch holds at most ${MAX_LOG_BATCH_CHARS} characters of text: send smaller batches`,
    },
  );

/** An attempt's logs as the service answers them. */
export interface AttemptLogs {
  id: string;
  attempt: number;
  /** Bytes of older output dropped to keep the attempt within its bound. */
  cut: number;
  lines: LogLine[];
  /** More lines follow: pass it as `after` for the next page. */
  next?: string;
}
