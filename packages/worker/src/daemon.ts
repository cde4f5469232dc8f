/**
 * The worker daemon: slots that take claims and hand each to an Attempt, one pool of warm
 * processes, one reporter, and the stop with its grace period.
 */

import { hostname } from "node:os";
import { resolve } from "node:path";
import {
  BucketsClient,
  type BucketsClientOptions,
  type BucketsError,
  formatIssues,
  InvalidWorkError,
  type Workspace,
} from "@workflow/work";
import { Attempt, type AttemptContext } from "./attempt.js";
import { Backoff, pause } from "./backoff.js";
import { createClaims } from "./claims.js";
import { createLogger, type Logger } from "./logger.js";
import { type ResolvedWorkerOptions, type WorkerOptions, WorkerOptionsSchema } from "./options.js";
import { isRefusal } from "./ownership.js";
import { WorkerRefusedError } from "./refused.js";
import { createReporter } from "./report.js";
import { defaultFunctionRoots, pythonFunctionRoots } from "./runner/function-roots.js";
import { WarmPool } from "./runner/pool.js";
import { resolveSlackSettings } from "./slack.js";

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

/**
 * Starts the worker: `concurrency` slots, each a loop that takes a claim and hands it to an
 * Attempt (which owns it to its report), until its lives are used up or stop() is called.
 */
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
  const stopping = new AbortController();
  const attempts = new Set<Attempt>();
  /** Ended attempts whose report and Slack message are still on their way. */
  const finishing = new Set<Promise<void>>();
  const pool = new WarmPool(logger);
  let completed = 0;
  let refused: WorkerRefusedError | undefined;

  /** A refused token ends the worker at once: no work it runs could be kept or reported. */
  function refuse(error: BucketsError): void {
    if (refused) return;
    refused = new WorkerRefusedError(error, options.pipelines);
    stopping.abort();
    for (const attempt of attempts) attempt.stop("shutdown");
  }

  const context: AttemptContext = {
    client,
    logger,
    reporter: createReporter(client),
    pool,
    slack: resolveSlackSettings(env ? { env } : {}),
    workspace,
    cwd: options.cwd,
    functionRoots,
    pythonRoots: pythonFunctionRoots(
      functionRoots,
      options.functionRoots !== undefined,
      options.cwd,
    ),
    fallback: { function: options.function, command: options.command },
    onRefused: refuse,
    refused: () => refused !== undefined,
  };

  const claims = createClaims({
    client,
    filter: filterOf(options),
    wait: options.wait,
    // Heartbeats follow the lease the service gave (see lease.ts).
    lease: options.lease ?? true,
    lives: options.lives,
    signal: stopping.signal,
    logger,
    onConnected: async (outageMs) => {
      const url = await client.baseUrl();
      if (outageMs === undefined)
        logger.info({ url, pipelines: options.pipelines }, "connected to the service");
      else
        logger.info(
          { url, pipelines: options.pipelines, seconds: Math.round(outageMs / 100) / 10 },
          "reached the service again; claiming works",
        );
    },
  });

  async function slot(): Promise<void> {
    const backoff = new Backoff();
    while (!stopping.signal.aborted && claims.open) {
      const got = await claims.take();
      if (stopping.signal.aborted && !(got && !(got instanceof Error))) return;
      if (isRefusal(got)) return refuse(got);
      if (got instanceof Error) {
        logger.warn({ reason: got.message }, "withdraw failed; retrying");
        await pause(backoff.failed(), stopping.signal);
        continue;
      }
      backoff.succeeded();
      if (!got) {
        await pause(options.sleep * 1000, stopping.signal);
        continue;
      }
      const began = Date.now();
      const attempt = new Attempt(got.work, got.claimedAt, context);
      attempts.add(attempt);
      try {
        const { finishing: tail } = await attempt.run();
        finishing.add(tail);
        void tail.finally(() => finishing.delete(tail));
      } catch (error) {
        logger.error({ err: error, work: got.work.id }, "could not run the work");
      } finally {
        attempts.delete(attempt);
        claims.finished(Date.now() - began);
      }
      completed++;
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
    .then(() => pool.close())
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
          for (const attempt of attempts) attempt.shutDown();
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
