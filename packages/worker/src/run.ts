import type { BucketsClient, BucketsError, StoredWork, Workspace } from "@workflow/work";
import { archiveOutcome } from "./archive/archive.js";
import { Lease } from "./lease.js";
import type { Logger } from "./logger.js";
import { LogShipper } from "./logs/shipper.js";
import { runCommand } from "./runner/command.js";
import { runFunction } from "./runner/function.js";
import { functionKind } from "./runner/kind.js";
import type { Outcome, StopReason } from "./runner/outcome.js";
import { WarmPool } from "./runner/pool.js";
import { type OutputSink, type OutputStream, runPython } from "./runner/python.js";

export interface Running {
  done: Promise<Outcome>;
  /** Ends the work early; its outcome says why. */
  stop(reason: StopReason): void;
  /**
   * True once the attempt is not this worker's any more: the service gave it to someone else, or
   * the lease lapsed before a heartbeat could renew it. Its outcome must not be reported.
   */
  readonly lost: boolean;
  /** Ends the heartbeats: call it once the outcome is recorded (or never will be). */
  release(): void;
}

export interface RunOptions {
  client: BucketsClient;
  logger: Logger;
  cwd: string;
  /** Directories that function works may load modules from. */
  functionRoots: readonly string[];
  /** The same for Python functions. @defaultValue functionRoots */
  pythonRoots?: readonly string[];
  /** Used for works that name neither a function nor a command. */
  fallback?: { function?: string | undefined; command?: string[] | undefined };
  /** Called when the service refuses the worker's token or its scope: the worker cannot go on. */
  onRefused?: (error: BucketsError) => void;
  /** Where products and plots are archived (its `archive` and `config.archive`); none: left as they are. */
  workspace?: Workspace | undefined;
  /** Also receives what the work prints (it always goes to the service, as the attempt's logs). */
  output?: OutputSink;
  /** When the claim came back (Date.now()), if the work was claimed before it started. */
  claimedAt?: number;
  /** Where warm processes wait between works; without it, this work's process ends with it. */
  pool?: WarmPool;
}

type Started = Pick<Running, "done" | "stop">;

/**
 * Takes a work's output as it comes: text from functions, raw chunks from commands. A promise
 * asks the runner to hold the rest until it settles (the logs go out slower than the work prints).
 */
type Printed = (stream: OutputStream, chunk: string | Buffer) => Promise<void> | undefined;

/** Starts a work's function or command; anything that keeps it from starting fails the attempt. */
function start(work: StoredWork, options: RunOptions, pool: WarmPool, output: Printed): Started {
  const { cwd, functionRoots, fallback } = options;
  const fn = work.function ?? (work.command ? undefined : fallback?.function);
  const command = work.command ?? (work.function ? undefined : fallback?.command);
  const failed = (error: string): Started => ({
    done: Promise.resolve({ status: "failure", results: { error } }),
    stop() {},
  });
  try {
    // `module#export` runs in Node, `pkg.module.func` in Python; anything else cannot run.
    const kind = fn === undefined ? undefined : functionKind(fn);
    if (kind?.error !== undefined) return failed(kind.error);
    if (fn !== undefined && kind?.kind === "python")
      return runPython(
        { function: fn, parameters: work.parameters, timeout: work.timeout, user: work.user },
        {
          cwd,
          roots: options.pythonRoots ?? functionRoots,
          logger: options.logger,
          output,
          pool,
        },
      );
    if (fn !== undefined)
      return runFunction(
        { function: fn, parameters: work.parameters, timeout: work.timeout, user: work.user },
        cwd,
        functionRoots,
        pool,
        output,
      );
    if (command !== undefined)
      return runCommand(
        {
          command,
          parameters: work.parameters,
          timeout: work.timeout,
          // Results an earlier attempt reported (its failure) are not the work's own.
          hasResults:
            work.results !== undefined &&
            !work.history?.some((h) => h.attempt < work.attempt && h.status === "failure"),
        },
        cwd,
        output,
      );
    return failed(
      "the work names neither a function nor a command, and the worker has no --function or --command",
    );
  } catch (error) {
    return failed(`cannot start the work: ${error instanceof Error ? error.message : error}`);
  }
}

/**
 * Starts a claimed work and keeps its lease alive with heartbeats until `release`. A worker that
 * cannot renew the lease before it lapses fences itself: the service may already have given the
 * work to another worker, so it stops the work and does not report it.
 */
export function runWork(work: StoredWork, options: RunOptions): Running {
  const { logger } = options;
  // The work's output goes to the service while it runs; its last lines before the outcome.
  const shipper = new LogShipper({ client: options.client, held: work, logger });
  // A pool that holds none: the process ends as its work does.
  const pool = options.pool ?? new WarmPool(logger, 0);
  const started = start(work, options, pool, (stream, text) => {
    options.output?.(stream, String(text));
    return shipper.write(stream, text);
  });
  let ended = false;
  const stop = (reason: StopReason) => {
    if (!ended) started.stop(reason);
  };
  const lease = new Lease(work, {
    client: options.client,
    logger,
    claimedAt: options.claimedAt,
    stop: () => stop("cancel"),
    onRefused: options.onRefused,
  });
  // Archived while heartbeats still hold the lease: an upload may take a while.
  const done = started.done
    .then(async (outcome) => {
      await shipper.close();
      return outcome;
    })
    .then((outcome) =>
      lease.lost
        ? outcome
        : archiveOutcome(work, outcome, { workspace: options.workspace, cwd: options.cwd, logger }),
    )
    .finally(() => {
      ended = true;
    });
  return {
    done,
    stop,
    get lost() {
      return lease.lost;
    },
    release: () => lease.release(),
  };
}
