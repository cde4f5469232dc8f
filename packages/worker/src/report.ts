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

/** The most outcomes one PUT carries (the service's batch limit is far above). */
const MAX_REPORT = 100;

/**
 * How long a report waits for other outcomes to join it. Nobody waits on a report (the slot has
 * moved on), and each PUT costs the service a read and a journaled write: in the end-to-end
 * bench, 20, 50 and 100 ms gave 283, 345 and 418 works/s against 252 without.
 */
const LINGER_MS = 100;

interface Pending {
  work: StoredWork;
  update: Update;
  log: Logger;
  /** The last heartbeat was at most a third of a lease ago: after one lease, the claim is gone. */
  leaseGoneAt: number;
  settle: (recorded: boolean) => void;
}

type Update = ReturnType<typeof toUpdate>;

/**
 * Reports outcomes, retrying each until the service takes it or its lease is gone. Outcomes that
 * end within LINGER_MS of each other, or while a report is in flight, go in one PUT, so a busy
 * worker sends one request for many works. A 409 names the works whose attempt was given to someone else (a
 * zombie's outcome): those are logged and dropped, and the others were recorded.
 */
export function createReporter(client: BucketsClient) {
  const queue: Pending[] = [];
  let sending = false;

  async function pump(): Promise<void> {
    if (sending || queue.length === 0) return;
    sending = true;
    try {
      if (queue.length < MAX_REPORT) await sleep(LINGER_MS);
      await send(queue.splice(0, MAX_REPORT));
    } finally {
      sending = false;
    }
    void pump();
  }

  async function send(batch: Pending[]): Promise<void> {
    for (let pause = 500; batch.length > 0; pause = Math.min(pause * 2, 10_000)) {
      try {
        await client.update(batch.map((p) => p.update));
        for (const p of batch) p.settle(true);
        return;
      } catch (error) {
        if (error instanceof BucketsError && error.status === 409) {
          const refused = refusedIds(error);
          for (const p of batch) {
            if (refused.has(p.work.id)) {
              p.log.warn("outcome refused: the attempt is no longer current");
              p.settle(false);
            } else p.settle(true);
          }
          return;
        }
        const retryable = error instanceof BucketsError && error.retryable;
        const now = Date.now() / 1000;
        const kept: Pending[] = [];
        for (const p of batch) {
          if (retryable && now <= p.leaseGoneAt) kept.push(p);
          else {
            p.log.error(
              { err: error },
              "could not report the outcome; the service will re-run the work after its lease",
            );
            p.settle(false);
          }
        }
        batch = kept;
        if (batch.length > 0) {
          for (const p of batch) p.log.warn({ err: error }, "reporting failed; retrying");
          await sleep(pause);
        }
      }
    }
  }

  return {
    /** Settles true once the outcome is recorded, false when it never will be. */
    report(work: StoredWork, update: Update, log: Logger): Promise<boolean> {
      const leaseSeconds = Math.max(1, (work.leaseUntil ?? 0) - (work.start ?? 0));
      return new Promise((settle) => {
        queue.push({ work, update, log, leaseGoneAt: Date.now() / 1000 + leaseSeconds, settle });
        void pump();
      });
    },
  };
}

export type Reporter = ReturnType<typeof createReporter>;

function refusedIds(error: BucketsError): Set<string> {
  const ids = (error.details as { ids?: unknown } | undefined)?.ids;
  return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
}
