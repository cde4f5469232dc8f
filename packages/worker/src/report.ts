import {
  type BucketsClient,
  BucketsError,
  checkResultsSize,
  droppedResults,
  RESULTS_MAX_BYTES,
  resultsSize,
  type StoredWork,
} from "@workflow/work";
import { Backoff, pause } from "./backoff.js";
import type { Logger } from "./logger.js";
import { leaseSeconds } from "./ownership.js";
import type { Outcome } from "./runner/outcome.js";

/**
 * What goes to PUT /work: the attempt, its status, stop time and results. Results
 * over the cap are dropped with a warning, as createWork drops them (a note takes their place), and
 * the rest of the outcome is reported all the same: the service would refuse the whole update.
 */
export function toUpdate(work: StoredWork, outcome: Outcome, log?: Pick<Logger, "warn">) {
  let results = outcome.results;
  let status = outcome.status;
  const size = checkResultsSize(results);
  if (!size.ok) {
    log?.warn(
      { bytes: resultsSize(results), capBytes: RESULTS_MAX_BYTES },
      `results dropped: ${size.message}`,
    );
    results = droppedResults(results);
    // The work asked that results it cannot keep be a failure rather than a success without them.
    if (work.config?.resultsOverCap === "fail" && status === "success") status = "failure";
  }
  return {
    id: work.id,
    pipeline: work.pipeline,
    attempt: work.attempt,
    ...(work.claim ? { claim: work.claim } : {}),
    status,
    stop: Date.now() / 1000,
    ...(results ? { results } : {}),
    ...(outcome.products ? { products: outcome.products } : {}),
    ...(outcome.plots ? { plots: outcome.plots } : {}),
    ...(outcome.archive ? { archive: outcome.archive } : {}),
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
  update: Update | Refusal;
  log: Logger;
  /** Whether the attempt is still this worker's: while it is, a report worth retrying is retried. */
  held: () => boolean;
  settle: (recorded: boolean) => void;
}

type Update = ReturnType<typeof toUpdate>;

/** What is reported instead of an outcome that the service refused: a failure that says why. */
interface Refusal {
  id: string;
  attempt: number;
  claim?: string;
  status: "failure";
  stop: number;
  results: { error: string };
  refused: true;
}

/** Answers that refuse what a batch holds: bisecting finds the outcome at fault. */
const REFUSALS = new Set([400, 404, 413, 422]);
const MAX_REASON = 1_000;

/**
 * Reports outcomes, retrying each while the service is unreachable and the attempt is still held.
 * Outcomes that end within LINGER_MS of each other, or while a report is in flight, go in one
 * PUT, so a busy worker sends one request for many works. The service checks a PUT as a whole, so
 * a batch it refuses (400, 404, 413) is split in halves until the outcome at fault is alone: the
 * others land, and that one is replaced by a failure that says why (or dropped, for a work that no
 * longer exists). A 409 names the works whose attempt was given to someone else (a zombie's
 * outcome): those are logged and dropped, and the others were recorded.
 */
export function createReporter(client: BucketsClient) {
  const queue: Pending[] = [];
  let sending = false;

  async function pump(): Promise<void> {
    if (sending || queue.length === 0) return;
    sending = true;
    try {
      if (queue.length < MAX_REPORT) await pause(LINGER_MS);
      await send(queue.splice(0, MAX_REPORT));
    } finally {
      sending = false;
    }
    void pump();
  }

  async function send(batch: Pending[]): Promise<void> {
    const backoff = new Backoff();
    while (batch.length > 0) {
      try {
        await client.update(batch.map((p) => wire(p.update)));
        for (const p of batch) p.settle(true);
        return;
      } catch (error) {
        if (error instanceof BucketsError && error.status === 409) {
          const refused = idsOf(error);
          for (const p of batch) {
            if (refused.has(p.work.id)) {
              p.log.warn("outcome refused: the attempt is no longer current");
              p.settle(false);
            } else p.settle(true);
          }
          return;
        }
        if (!(error instanceof BucketsError) || REFUSALS.has(error.status))
          return isolate(batch, error);
        const kept: Pending[] = [];
        for (const p of batch) {
          if (error.retryable && p.held()) kept.push(p);
          else {
            p.log.error(
              { reason: error.message, status: error.status },
              error.retryable
                ? "could not report the outcome; the service will re-run the work after its lease"
                : "the service refused the outcome; it is not recorded",
            );
            p.settle(false);
          }
        }
        batch = kept;
        if (batch.length > 0) {
          batch[0]?.log.warn(
            { reason: error.message, outcomes: batch.length },
            "reporting failed; retrying",
          );
          await pause(backoff.failed());
        }
      }
    }
  }

  /** Sends the halves of a refused batch apart, down to the one outcome that is at fault. */
  async function isolate(batch: Pending[], error: unknown): Promise<void> {
    const gone = error instanceof BucketsError && error.status === 404 ? idsOf(error) : new Set();
    if (gone.size > 0) {
      const rest = batch.filter((p) => !gone.has(p.work.id));
      if (rest.length < batch.length) {
        for (const p of batch.filter((p) => gone.has(p.work.id))) {
          p.log.warn("outcome dropped: the work no longer exists");
          p.settle(false);
        }
        return send(rest);
      }
    }
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await send(batch.slice(0, half));
      return send(batch.slice(half));
    }
    const [p] = batch as [Pending];
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, MAX_REASON);
    if ("refused" in p.update || (error instanceof BucketsError && error.status === 404)) {
      p.log.error({ reason }, "the service refused the outcome; it is not recorded");
      return p.settle(false);
    }
    p.log.error({ reason }, "the service refused the outcome; reporting a failure that says why");
    p.update = {
      id: p.update.id,
      attempt: p.update.attempt,
      ...(p.work.claim ? { claim: p.work.claim } : {}),
      status: "failure",
      stop: p.update.stop,
      results: { error: `the service refused this work's outcome: ${reason}` },
      refused: true,
    };
    return send([p]);
  }

  return {
    /**
     * Settles true once the outcome is recorded, false when it never will be. `held` tells whether
     * the attempt is still this worker's; without it, the claim is taken to last one lease.
     */
    report(work: StoredWork, update: Update, log: Logger, held?: () => boolean): Promise<boolean> {
      const leaseGoneAt = Date.now() / 1000 + Math.max(1, leaseSeconds(work));
      return new Promise((settle) => {
        queue.push({
          work,
          update,
          log,
          held: held ?? (() => Date.now() / 1000 <= leaseGoneAt),
          settle,
        });
        void pump();
      });
    },
  };
}

export type Reporter = ReturnType<typeof createReporter>;

/** The update as the service takes it (a refusal's own mark stays here). */
function wire(update: Update | Refusal): Update | Omit<Refusal, "refused"> {
  if (!("refused" in update)) return update;
  const { refused: _refused, ...rest } = update;
  return rest;
}

function idsOf(error: BucketsError): Set<string> {
  const ids = (error.details as { ids?: unknown } | undefined)?.ids;
  return new Set(Array.isArray(ids) ? ids.filter((id) => typeof id === "string") : []);
}
