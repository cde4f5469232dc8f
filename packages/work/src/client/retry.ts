/** The client's one retry policy: backoff with jitter, within a time budget. */

import { BucketsError } from "./errors.js";

export interface RetryOptions {
  /** Total time to keep trying, in ms. @defaultValue 30000 */
  budgetMs?: number;
  /** First pause, in ms; it doubles after each try. @defaultValue 250 */
  baseMs?: number;
  /** Longest pause, in ms. @defaultValue 5000 */
  capMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `call` again on network errors and 502/503/504, with exponential backoff and full jitter,
 * within a time budget. A Retry-After from the service is a floor for the pause.
 */
export async function withRetries<T>(
  call: () => Promise<T>,
  { budgetMs = 30_000, baseMs = 250, capMs = 5_000 }: RetryOptions = {},
): Promise<T> {
  const giveUpAt = Date.now() + budgetMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof BucketsError) || !error.retryable) throw error;
      const retryAfter = (error.retryAfterSeconds ?? 0) * 1000;
      const pause = Math.max(retryAfter, Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
      if (Date.now() + pause > giveUpAt) throw error;
      await sleep(pause);
    }
  }
}
