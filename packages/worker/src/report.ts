import {
  type BucketsClient,
  BucketsError,
  checkResultsSize,
  droppedResults,
  errorFamily,
  RESULTS_MAX_BYTES,
  type RefusedItem,
  resultsSize,
  type StoredWork,
} from "@workflow/work";
import { Backoff, pause } from "./backoff.js";
import type { Logger } from "./logger.js";
import { leaseSeconds, NOT_OURS } from "./ownership.js";
import type { Outcome } from "./runner/outcome.js";

/**
 * What goes to PUT /work: the attempt, its status, stop time and results, and Slack's reply to
 * the message about it (one request records both). Results over the cap are dropped with a
 * warning, as createWork drops them (a note takes their place), and the rest of the outcome is
 * reported all the same: the service would refuse the whole update.
 */
export function toUpdate(
  work: StoredWork,
  outcome: Outcome,
  log?: Pick<Logger, "warn">,
  slackReply?: Record<string, unknown>,
) {
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

/**
 * Families of the codes that refuse a request as a whole for what it holds (a body too large, or
 * one MongoDB would not write): bisecting finds the outcome at fault.
 */
const WHOLE_REFUSALS = new Set(["invalid", "too_large"]);
const MAX_REASON = 1_000;
const NOT_OURS_CODES = new Set<string>(NOT_OURS);

/**
 * Reports outcomes, retrying each while the service is unreachable and the attempt is still held.
 * Outcomes that end within LINGER_MS of each other, or while a report is in flight, go in one
 * PUT, so a busy worker sends one request for many works. The service records each item on its
 * own and names those it refused, each with its code: a zombie's outcome (the attempt is someone
 * else's) and one for a work that no longer exists are logged and dropped, one that changed under
 * the write is sent again, and any other is replaced by a failure that says why. A request the
 * service refuses as a whole (too large, or unwritable) is split in halves until the outcome at
 * fault is alone: the others land, and that one is replaced the same way.
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
        if (!(error instanceof BucketsError)) return isolate(batch, error);
        const items = error.refusedItems;
        if (items) return sortOut(batch, items);
        if (WHOLE_REFUSALS.has(errorFamily(error.code) ?? "")) return isolate(batch, error);
        const kept: Pending[] = [];
        for (const p of batch) {
          if (error.retryable && p.held()) kept.push(p);
          else {
            p.log.error(
              { reason: error.message, code: error.code },
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

  /** The service recorded the items it did not name; each named one goes by its own code. */
  async function sortOut(batch: Pending[], items: RefusedItem[]): Promise<void> {
    const refused = new Map(items.map((r) => [r.index, r]));
    const again: Pending[] = [];
    for (const [index, p] of batch.entries()) {
      const r = refused.get(index);
      if (!r) p.settle(true);
      else if (r.code === "changed" && p.held()) again.push(p);
      else if (r.code === "not_found" || r.code === "changed" || NOT_OURS_CODES.has(r.code)) {
        p.log.warn(
          { code: r.code },
          r.code === "not_found"
            ? "outcome dropped: the work no longer exists"
            : "outcome refused: the attempt is no longer current",
        );
        p.settle(false);
      } else if (standIn(p, r.message)) again.push(p);
    }
    if (again.length > 0) await send(again);
  }

  /** Sends the halves of a refused batch apart, down to the one outcome that is at fault. */
  async function isolate(batch: Pending[], error: unknown): Promise<void> {
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      await send(batch.slice(0, half));
      return send(batch.slice(half));
    }
    const [p] = batch as [Pending];
    if (standIn(p, error instanceof Error ? error.message : String(error))) return send([p]);
  }

  /**
   * Replaces an outcome the service refused by a failure that says why, to be sent in its place;
   * false (and settled) when it was that failure already.
   */
  function standIn(p: Pending, message: string): boolean {
    const reason = message.slice(0, MAX_REASON);
    if ("refused" in p.update) {
      p.log.error({ reason }, "the service refused the outcome; it is not recorded");
      p.settle(false);
      return false;
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
    return true;
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
