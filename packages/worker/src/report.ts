import {
  type BucketsClient,
  BucketsError,
  checkResultsSize,
  type StoredWork,
} from "@workflow/work";
import type { Logger } from "./logger.js";
import type { Outcome } from "./runner/outcome.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What goes to PUT /work: the attempt, its status, stop time, capped results, and Slack's reply. */
export function toUpdate(work: StoredWork, outcome: Outcome, slackReply?: Record<string, unknown>) {
  let results = outcome.results;
  const size = checkResultsSize(results);
  if (!size.ok) results = { error: `results dropped: ${size.message}` };
  return {
    id: work.id,
    attempt: work.attempt,
    status: outcome.status,
    stop: Date.now() / 1000,
    ...(results ? { results } : {}),
    ...(outcome.products ? { products: outcome.products } : {}),
    ...(outcome.plots ? { plots: outcome.plots } : {}),
    ...(slackReply
      ? { notify: { ...work.notify, slack: { ...work.notify?.slack, reply: slackReply } } }
      : {}),
  };
}

/**
 * Reports an outcome, retrying until the service takes it or the lease is gone. A 409 means the
 * attempt was given to someone else (a zombie's outcome): it is logged and dropped.
 */
export async function report(
  client: BucketsClient,
  work: StoredWork,
  update: ReturnType<typeof toUpdate>,
  logger: Logger,
): Promise<boolean> {
  // The last heartbeat was at most a third of a lease ago: after one lease, the claim is gone.
  const leaseSeconds = Math.max(1, (work.leaseUntil ?? 0) - (work.start ?? 0));
  const leaseGoneAt = Date.now() / 1000 + leaseSeconds;
  for (let pause = 500; ; pause = Math.min(pause * 2, 10_000)) {
    try {
      await client.update([update]);
      return true;
    } catch (error) {
      if (error instanceof BucketsError && error.status === 409) {
        logger.warn(
          { work: work.id, attempt: work.attempt },
          "outcome refused: the attempt is no longer current",
        );
        return false;
      }
      const retryable = error instanceof BucketsError && error.retryable;
      if (!retryable || Date.now() / 1000 > leaseGoneAt) {
        logger.error(
          { err: error, work: work.id },
          "could not report the outcome; the service will re-run the work after its lease",
        );
        return false;
      }
      logger.warn({ err: error, work: work.id }, "reporting failed; retrying");
      await sleep(pause);
    }
  }
}
