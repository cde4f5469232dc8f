/**
 * The worker's one backoff: how long to wait after each failure in a row to reach the service
 * (claims, reports), and the wait itself, cut short by a stop.
 */

/** The first pause after a failure, in ms; it doubles with each failure in a row. */
export const BACKOFF_FIRST_MS = 500;
/** The longest pause, in ms: a service that comes back is heard from within this long. */
export const BACKOFF_CAP_MS = 10_000;

export class Backoff {
  #failures = 0;

  /** Failures in a row so far. */
  get failures(): number {
    return this.#failures;
  }

  /** Counts a failure; answers how long to pause before the next try. */
  failed(): number {
    const ms = Math.min(BACKOFF_CAP_MS, BACKOFF_FIRST_MS * 2 ** this.#failures);
    this.#failures++;
    return ms;
  }

  /** A try went through: the next failure starts from the first pause again. */
  succeeded(): void {
    this.#failures = 0;
  }
}

/** Waits `ms`, or less if `signal` aborts meanwhile; the listener goes with the wait. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
