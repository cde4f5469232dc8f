import { type BucketsClient, BucketsError, type StoredWork } from "@workflow/work";
import type { Logger } from "./logger.js";
import { runCommand } from "./runner/command.js";
import { runFunction } from "./runner/function.js";
import type { Outcome, StopReason } from "./runner/outcome.js";

export interface Running {
  done: Promise<Outcome>;
  /** Ends the work early; its outcome says why. */
  stop(reason: StopReason): void;
  /** True once the service gave this attempt to someone else: its outcome must not be reported. */
  readonly lost: boolean;
}

export interface RunOptions {
  client: BucketsClient;
  logger: Logger;
  cwd: string;
  /** Used for works that name neither a function nor a command. */
  fallback?: { function?: string | undefined; command?: string[] | undefined };
}

/** The shortest pause between heartbeats, in seconds. */
const MIN_HEARTBEAT_SECONDS = 0.5;

/** Starts a claimed work and keeps its lease alive with heartbeats (every lease/3) until it ends. */
export function runWork(work: StoredWork, { client, logger, cwd, fallback }: RunOptions): Running {
  const fn = work.function ?? (work.command ? undefined : fallback?.function);
  const command = work.command ?? (work.function ? undefined : fallback?.command);
  let lost = false;
  const started =
    fn !== undefined
      ? runFunction({ function: fn, parameters: work.parameters, timeout: work.timeout }, cwd)
      : command !== undefined
        ? runCommand(
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
          )
        : {
            done: Promise.resolve<Outcome>({
              status: "failure",
              results: {
                error:
                  "the work names neither a function nor a command, and the worker has no --function or --command",
              },
            }),
            stop() {},
          };

  const lease = (work.leaseUntil ?? 0) - (work.start ?? 0);
  const every = Math.max(MIN_HEARTBEAT_SECONDS, lease > 0 ? lease / 3 : 20) * 1000;
  const timer = setInterval(async () => {
    try {
      const { cancel } = await client.heartbeat(work.id, work.attempt);
      if (cancel) {
        logger.info({ work: work.id }, "cancelled by the service; stopping it");
        started.stop("cancel");
      }
    } catch (error) {
      if (error instanceof BucketsError && (error.status === 409 || error.status === 404)) {
        logger.warn(
          { work: work.id, attempt: work.attempt },
          "this attempt is no longer ours; stopping it",
        );
        lost = true;
        started.stop("cancel");
      } else {
        logger.warn({ err: error, work: work.id }, "heartbeat failed; will try again");
      }
    }
  }, every);
  const done = started.done.finally(() => clearInterval(timer));
  return {
    done,
    stop: (reason) => started.stop(reason),
    get lost() {
      return lost;
    },
  };
}
