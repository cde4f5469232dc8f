/**
 * One claimed attempt, from claim to report: it runs the work (its lease and heartbeats, its
 * logs, its runner and archive: see run.ts), tells Slack, reports the outcome with Slack's reply in
 * one request, and ends its heartbeats; or gives the work back when the worker stopped under it.
 */
import { hostname } from "node:os";
import {
  type BucketsClient,
  type BucketsError,
  hasRetriesLeft,
  type StoredWork,
  type Workspace,
} from "@workflow/work";
import type { Logger } from "./logger.js";
import type { Reporter } from "./report.js";
import { toUpdate } from "./report.js";
import { type Running, runWork } from "./run.js";
import type { Outcome, StopReason } from "./runner/outcome.js";
import type { WarmPool } from "./runner/pool.js";
import { notifySlack, type SlackSettings } from "./slack.js";

/** What every attempt of one worker shares. */
export interface AttemptContext {
  client: BucketsClient;
  logger: Logger;
  reporter: Reporter;
  pool: WarmPool;
  slack: SlackSettings;
  workspace: Workspace | undefined;
  cwd: string;
  functionRoots: readonly string[];
  pythonRoots: readonly string[];
  fallback: { function?: string | undefined; command?: string[] | undefined };
  /** The service refused the worker's token: the worker stops. */
  onRefused(error: BucketsError): void;
  /** Whether the worker's token was refused: then nothing more can be reported. */
  refused(): boolean;
}

export class Attempt {
  readonly #log: Logger;
  #running: Running | undefined;
  /** Killed at the end of the stop's grace period: given back to the queue, not reported. */
  #shutDown = false;

  constructor(
    readonly work: StoredWork,
    private readonly claimedAt: number,
    private readonly context: AttemptContext,
  ) {
    this.#log = context.logger.child({
      work: work.id,
      pipeline: work.pipeline,
      attempt: work.attempt,
    });
  }

  /**
   * Runs the work to its outcome. Answers, once it has ended, the rest of the attempt (report,
   * Slack, release) as a promise of its own: the slot takes its next work meanwhile.
   */
  async run(): Promise<{ finishing: Promise<void> }> {
    const { work, context } = this;
    this.#log.info("running");
    const began = Date.now();
    const run = runWork(work, {
      client: context.client,
      logger: this.#log,
      cwd: context.cwd,
      functionRoots: context.functionRoots,
      pythonRoots: context.pythonRoots,
      fallback: context.fallback,
      workspace: context.workspace,
      onRefused: context.onRefused,
      claimedAt: this.claimedAt,
      pool: context.pool,
    });
    this.#running = run;
    const outcome = await run.done;
    if (run.lost || context.refused()) {
      run.release();
      return { finishing: Promise.resolve() };
    }
    if (this.#shutDown && (await this.#giveBack())) {
      run.release();
      return { finishing: Promise.resolve() };
    }
    const finishing = this.#finish(outcome, (Date.now() - began) / 1000, run)
      .catch((error: unknown) => this.#log.error({ err: error }, "could not finish the work"))
      .finally(() => run.release());
    return { finishing };
  }

  /** Ends the work early; its outcome says why. */
  stop(reason: StopReason): void {
    this.#running?.stop(reason);
  }

  /** The worker's grace period is over: the work is killed and goes back to the queue. */
  shutDown(): void {
    this.#shutDown = true;
    this.stop("shutdown");
  }

  /**
   * Tells Slack, then reports the outcome with Slack's reply, both while heartbeats hold the lease:
   * one request records the two, as CHIME's worker sends them. Slack hears of successes and final
   * failures; a failure with a retry ahead is not news yet.
   */
  async #finish(outcome: Outcome, seconds: number, run: Running): Promise<void> {
    const { work, context } = this;
    const log = this.#log;
    const news = !(outcome.status === "failure" && hasRetriesLeft(work));
    const reply = news
      ? await notifySlack({ work, outcome, seconds, host: hostname() }, context.slack, log)
      : undefined;
    const recorded = await context.reporter.report(
      work,
      toUpdate(work, outcome, log, reply),
      log,
      () => !run.lost,
    );
    run.release();
    if (!recorded) return;
    const error = outcome.status === "failure" ? outcome.results?.error : undefined;
    log.info(
      { status: outcome.status, seconds, ...(error ? { error: String(error) } : {}) },
      "finished",
    );
  }

  /**
   * Returns a work killed by the shutdown to the queue without spending a retry: it did not fail,
   * its worker left. False when the service would not take it back (then the failure is reported).
   */
  async #giveBack(): Promise<boolean> {
    try {
      await this.context.client.release(this.work);
      this.#log.info("released: the worker stopped before the work finished; it will run again");
      return true;
    } catch (error) {
      this.#log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        "could not release the work; reporting it failed",
      );
      return false;
    }
  }
}
