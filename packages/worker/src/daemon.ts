import { hostname } from "node:os";
import { resolve } from "node:path";
import {
  BucketsClient,
  type BucketsClientOptions,
  type BucketsError,
  formatIssues,
  hasRetriesLeft,
  InvalidWorkError,
  type StoredWork,
  type Workspace,
} from "@workflow/work";
import { createClaims } from "./claims.js";
import { createLogger, type Logger } from "./logger.js";
import { type ResolvedWorkerOptions, type WorkerOptions, WorkerOptionsSchema } from "./options.js";
import { isRefusal, WorkerRefusedError } from "./refused.js";
import { createReporter, toUpdate } from "./report.js";
import { type Running, runWork } from "./run.js";
import { closeFunctionProcesses } from "./runner/function.js";
import { defaultFunctionRoots, pythonFunctionRoots } from "./runner/function-roots.js";
import type { Outcome } from "./runner/outcome.js";
import { closePythonProcesses } from "./runner/python.js";
import { notifySlack, resolveSlackSettings } from "./slack.js";

export { WorkerRefusedError } from "./refused.js";

export interface WorkerHandle {
  /** Stops withdrawing; running works get the grace period, then are killed and reported failed. */
  stop(): Promise<void>;
  /**
   * Settles when the worker has stopped (lives used up, or stop()). Rejects with a
   * WorkerRefusedError when the service refuses the worker's token: it cannot go on.
   */
  readonly done: Promise<void>;
  /** Works finished so far. */
  readonly completed: number;
}

export interface StartWorkerOptions extends WorkerOptions {
  client?: BucketsClient | BucketsClientOptions;
  logger?: Logger;
  env?: Record<string, string | undefined>;
  /** Archives products and plots as its `archive` and `config.archive` say; without it, they stay put. */
  workspace?: Workspace | undefined;
}

/** Waits `ms`, or less if `signal` aborts meanwhile; the listener goes with the wait. */
const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });

/** Starts the loop: withdraw (long-poll), run, report, repeat, with up to `concurrency` at once. */
export function startWorker(input: StartWorkerOptions): WorkerHandle {
  const { client: clientInput, logger = createLogger(), env, workspace, ...rest } = input;
  const parsed = WorkerOptionsSchema.safeParse(rest);
  if (!parsed.success)
    throw new InvalidWorkError(`worker options: ${formatIssues(parsed.error.issues)}`);
  const options = parsed.data;
  const workerId = `${hostname()}/${process.pid}/${options.name}`;
  const client =
    clientInput instanceof BucketsClient
      ? clientInput
      : new BucketsClient({ ...clientInput, workerId, ...(env ? { env } : {}) });
  const functionRoots = (options.functionRoots ?? defaultFunctionRoots(options.cwd)).map((root) =>
    resolve(options.cwd, root),
  );
  const pythonRoots = pythonFunctionRoots(
    functionRoots,
    options.functionRoots !== undefined,
    options.cwd,
  );
  const slack = resolveSlackSettings(env ? { env } : {});
  const reporter = createReporter(client);
  const stopping = new AbortController();
  const running = new Set<Running>();
  /** Works killed at the end of the grace period: given back to the queue, not reported. */
  const shutDown = new WeakSet<Running>();
  /** Ended works whose Slack message and report are still on their way. */
  const finishing = new Set<Promise<void>>();
  let completed = 0;
  let refused: WorkerRefusedError | undefined;

  /** A refused token ends the worker at once: no work it runs could be kept or reported. */
  function refuse(error: BucketsError): void {
    if (refused) return;
    refused = new WorkerRefusedError(error, options.pipelines);
    stopping.abort();
    for (const run of running) run.stop("shutdown");
  }

  const claims = createClaims({
    client,
    filter: filterOf(options),
    wait: options.wait,
    // Heartbeats follow the lease the service gave (see run.ts).
    lease: options.lease ?? true,
    lives: options.lives,
    signal: stopping.signal,
    logger,
    onConnected: async () => {
      const url = await client.baseUrl();
      logger.info({ url, pipelines: options.pipelines }, "connected to the service");
    },
  });

  async function slot(): Promise<void> {
    let failures = 0;
    while (!stopping.signal.aborted && claims.open) {
      const got = await claims.take();
      if (stopping.signal.aborted && !(got && !(got instanceof Error))) return;
      if (isRefusal(got)) return refuse(got);
      if (got instanceof Error) {
        failures++;
        logger.warn({ reason: got.message }, "withdraw failed; retrying");
        await sleep(Math.min(30_000, 500 * 2 ** failures), stopping.signal);
        continue;
      }
      failures = 0;
      if (!got) {
        await sleep(options.sleep * 1000, stopping.signal);
        continue;
      }
      const began = Date.now();
      await execute(got.work, got.claimedAt)
        .catch((error: unknown) =>
          logger.error({ err: error, work: got.work.id }, "could not run the work"),
        )
        .finally(() => claims.finished(Date.now() - began));
      completed++;
    }
  }

  async function execute(work: StoredWork, claimedAt: number): Promise<void> {
    const log = logger.child({ work: work.id, pipeline: work.pipeline, attempt: work.attempt });
    log.info("running");
    const began = Date.now();
    const run = runWork(work, {
      client,
      logger: log,
      cwd: options.cwd,
      functionRoots,
      pythonRoots,
      fallback: { function: options.function, command: options.command },
      workspace,
      onRefused: refuse,
      claimedAt,
    });
    running.add(run);
    const outcome = await run.done.finally(() => running.delete(run));
    if (run.lost || refused) return run.release();
    if (shutDown.has(run) && (await giveBack(work, log))) return run.release();
    // The slot takes its next work at once; outcomes that end meanwhile share one report.
    const tail = finish(work, outcome, began, run, log)
      .catch((error: unknown) => log.error({ err: error }, "could not finish the work"))
      .finally(() => run.release());
    finishing.add(tail);
    void tail.finally(() => finishing.delete(tail));
  }

  /**
   * Reports the outcome while heartbeats hold the lease, then tells Slack: a message about an
   * outcome the service never took would announce a work that is about to run again.
   */
  async function finish(
    work: StoredWork,
    outcome: Outcome,
    began: number,
    run: Running,
    log: Logger,
  ) {
    const seconds = (Date.now() - began) / 1000;
    const recorded = await reporter.report(
      work,
      toUpdate(work, outcome, undefined, log),
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
    // Slack hears of successes and final failures; a failure with a retry ahead is not news yet.
    if (outcome.status === "failure" && hasRetriesLeft(work)) return;
    const reply = await notifySlack({ work, outcome, seconds, host: hostname() }, slack, log);
    if (reply) await keepSlackReply(work, reply, log);
  }

  /**
   * Returns a work killed by the shutdown to the queue without spending a retry: it did not fail,
   * its worker left. False when the service would not take it back (then the failure is reported).
   */
  async function giveBack(work: StoredWork, log: Logger): Promise<boolean> {
    try {
      await client.release(work);
      log.info("released: the worker stopped before the work finished; it will run again");
      return true;
    } catch (error) {
      log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        "could not release the work; reporting it failed",
      );
      return false;
    }
  }

  /** Records Slack's reply in `notify.slack.reply`; the outcome stands without it. */
  async function keepSlackReply(work: StoredWork, reply: Record<string, unknown>, log: Logger) {
    try {
      await client.update([
        {
          id: work.id,
          pipeline: work.pipeline,
          attempt: work.attempt,
          ...(work.claim ? { claim: work.claim } : {}),
          notify: { ...work.notify, slack: { ...work.notify?.slack, reply } },
        },
      ]);
    } catch (error) {
      log.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        "could not record Slack's reply; the outcome stands",
      );
    }
  }

  client
    .baseUrl()
    .catch((error: unknown) =>
      logger.warn(
        { reason: error instanceof Error ? error.message : String(error) },
        "cannot reach the service yet; will keep trying",
      ),
    );
  const done = Promise.all(Array.from({ length: options.concurrency }, slot))
    .then(() => Promise.all([claims.close(), ...finishing]))
    .then(() => Promise.all([closeFunctionProcesses(), closePythonProcesses()]))
    .then(() => {
      if (refused) throw refused;
    });
  // Whoever awaits `done` sees the refusal; a caller that only stops the worker is not crashed by it.
  done.catch(() => {});
  let stopped: Promise<void> | undefined;
  return {
    done,
    get completed() {
      return completed;
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        const grace = setTimeout(() => {
          for (const run of running) {
            shutDown.add(run);
            run.stop("shutdown");
          }
        }, options.grace * 1000);
        await done.catch(() => {}).finally(() => clearTimeout(grace));
      })();
      return stopped;
    },
  };
}

/** The withdraw filter in CHIME's shape. */
export function filterOf(options: ResolvedWorkerOptions): Record<string, unknown> {
  return {
    pipeline: { $in: options.pipelines },
    ...(options.site ? { site: options.site } : {}),
    ...(options.tags?.length ? { tags: { $in: options.tags } } : {}),
    ...(options.parents?.length ? { "config.parent": { $in: options.parents } } : {}),
    ...(options.events?.length ? { event: { $in: options.events } } : {}),
  };
}
