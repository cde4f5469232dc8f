/** Runs a command work in its own process group, its output kept for results. */

import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { childEnv, toArgv } from "@workflow/work";
import { killTagged, newTag, TAG_VARIABLE } from "./leftovers.js";
import type { Outcome, StopReason } from "./outcome.js";
import { groupAlive } from "./process-group.js";
import type { OutputStream } from "./python-output.js";
import { settledWithin } from "./settled.js";
import { Stopper } from "./stopper.js";
import { Tail } from "./tail.js";
import { startWatchdog, watchGroup } from "./watchdog.js";

export { toArgv } from "@workflow/work";

/** Bytes of stdout and of stderr kept for `results`. */
export const TAIL_BYTES = 64 * 1024;

/** How long output is still read once the command's process group is gone, in ms. */
export const DRAIN_MS = 1_000;

export interface CommandWork {
  command: string[];
  parameters?: Record<string, unknown> | undefined;
  timeout: number;
  /** When the work already has results, the output is not put in them. */
  hasResults: boolean;
}

/** Runs a command work in its own process group; `stop` ends it early (timeout, cancel, shutdown). */
export function runCommand(
  work: CommandWork,
  cwd: string,
  /**
   * Receives the command's output as it comes (the worker ships it to the service); a promise
   * holds the rest of that stream, in the pipe, until it settles.
   */
  output?: (stream: OutputStream, chunk: Buffer) => Promise<void> | undefined | void,
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  let child: ChildProcessByStdio<null, Readable, Readable>;
  let argv: string[];
  const tag = newTag();
  try {
    argv = toArgv(work.command, work.parameters);
    const nul = argv.findIndex((item) => item.includes("\0"));
    if (nul >= 0)
      throw new Error(
        `${nul === 0 ? "the program" : `argument ${nul}`} holds a NUL byte, which no program can receive: remove it from the command or its parameters`,
      );
    // A command outlives a worker killed with -9 unless something outside the worker ends it.
    startWatchdog();
    // Spawning throws on input it cannot pass (before any process exists): the attempt fails.
    child = spawn(argv[0] as string, argv.slice(1), {
      cwd,
      detached: true,
      env: { ...childEnv(), [TAG_VARIABLE]: tag },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (error) {
    return {
      done: Promise.resolve({
        status: "failure",
        results: { error: `cannot start the command: ${(error as Error).message}` },
      }),
      stop() {},
    };
  }
  const watchdog = child.pid === undefined ? undefined : watchGroup(child.pid);
  const stdout = new Tail(TAIL_BYTES);
  const stderr = new Tail(TAIL_BYTES);
  const take = (name: OutputStream, tail: Tail, source: Readable) =>
    source.on("data", (chunk: Buffer) => {
      tail.push(chunk);
      const wait = output?.(name, chunk);
      // One chunk a turn of the event loop at most: a flood of output must leave heartbeats
      // (and the works beside it) their turn, and it waits in the pipe, not in the worker's memory.
      source.pause();
      if (wait) void wait.then(() => source.resume());
      else setImmediate(() => source.resume());
    });
  take("stdout", stdout, child.stdout);
  take("stderr", stderr, child.stderr);
  const stopper = new Stopper(child, work.timeout);

  const done = new Promise<Outcome>((resolve) => {
    child.once("error", (error) => {
      stopper.finish();
      watchdog?.release();
      resolve({ status: "failure", results: { error: `cannot run ${argv[0]}: ${error.message}` } });
    });
    child.once("exit", async (code, signal) => {
      stopper.disarm();
      // Whatever the command left behind in its group goes with it.
      await (stopper.killing ?? (groupAlive(child.pid as number) ? stopper.kill() : undefined));
      stopper.finish();
      watchdog?.release();
      // A descendant that left the group (setsid, a daemon) may hold the pipes open for ever:
      // what it wrote by now is read, and then it goes, like the rest of the command.
      const drained = await settledWithin(
        Promise.all([closed(child.stdout), closed(child.stderr)]),
        DRAIN_MS,
      );
      if (!drained) {
        killTagged(tag);
        child.stdout.destroy();
        child.stderr.destroy();
      }
      const output = {
        exitCode: code,
        ...(signal ? { signal } : {}),
        stdout: stdout.toString(),
        stderr: stderr.toString(),
      };
      const extra = work.hasResults ? {} : output;
      const stopped = stopper.outcome(extra);
      if (stopped) return resolve(stopped);
      if (code === 0)
        return resolve({ status: "success", ...(work.hasResults ? {} : { results: output }) });
      resolve({
        status: "failure",
        results: { ...extra, error: `exited with ${signal ?? `code ${code}`}` },
      });
    });
  });
  return { done, stop: stopper.stop };
}

/** Resolves once a stream has ended (or at once if it already has). */
function closed(
  stream: NodeJS.ReadableStream & { closed?: boolean; readableEnded?: boolean },
): Promise<void> {
  if (stream.closed || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once("close", () => resolve());
    stream.once("end", () => resolve());
  });
}
