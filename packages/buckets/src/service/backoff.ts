/** The longest a failed work waits before its retry, in seconds. */
export const BACKOFF_CAP_SECONDS = 600;

/**
 * Seconds before attempt `attempt + 1` may start: 1 s after the first failure, doubling after each,
 * capped at 10 minutes, with +-20% jitter so that works failed together do not retry together.
 */
export function backoffSeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_CAP_SECONDS, 2 ** Math.max(0, attempt - 1));
  return Math.min(BACKOFF_CAP_SECONDS, base * (0.8 + 0.4 * random()));
}
