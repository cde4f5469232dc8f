import type { Logger } from "../logger.js";
import { type Outcome, type StopReason, stoppedOutcome } from "./outcome.js";
import { killGroup } from "./process-group.js";
import type { OutputSink } from "./python-output.js";
import { PythonProcess, type PythonReply } from "./python-process.js";

export type { OutputSink, OutputStream } from "./python-output.js";

export interface PythonWork {
  /** `pkg.module.func`. */
  function: string;
  parameters?: Record<string, unknown> | undefined;
  timeout: number;
  /** Whose work it is: a warm process only ever serves one user's works. */
  user: string;
}

export interface PythonRunOptions {
  /** The worker's directory: modules resolve from it, then from PYTHONPATH and installed packages. */
  cwd: string;
  /** Only functions defined in modules under these directories run (see pythonFunctionRoots). */
  roots: readonly string[];
  /** Receives what the function prints; without it, the worker's own stdout and stderr do. */
  output?: OutputSink;
  /** Where a raised exception's whole traceback is logged. */
  logger?: Logger;
  /** The interpreter. @defaultValue WORKFLOW_PYTHON, else "python3" */
  python?: string;
}

/** The interpreter to run: WORKFLOW_PYTHON, else python3 on the PATH. */
export function pythonExecutable(env: Record<string, string | undefined> = process.env): string {
  return env.WORKFLOW_PYTHON || "python3";
}

/** Warm processes kept waiting at most, over all users; the least recently used go first. */
export const MAX_IDLE_PYTHON = 16;

/** Idle processes by interpreter, directory and user, least recently used first. */
const idle = new Map<string, PythonProcess[]>();
let idleCount = 0;

function takeProcess(key: string, python: string, cwd: string): PythonProcess {
  const list = idle.get(key) ?? [];
  while (list.length > 0) {
    const warm = list.pop() as PythonProcess;
    idleCount--;
    if (warm.alive) return warm;
  }
  return new PythonProcess(python, cwd);
}

function giveBack(key: string, proc: PythonProcess): void {
  proc.idle();
  const list = idle.get(key) ?? [];
  idle.delete(key); // re-inserted last: the map's order is the order of use
  idle.set(key, [...list, proc]);
  idleCount++;
  while (idleCount > MAX_IDLE_PYTHON) {
    const [oldestKey, oldest] = idle.entries().next().value as [string, PythonProcess[]];
    const evicted = oldest.shift();
    if (oldest.length === 0) idle.delete(oldestKey);
    idleCount--;
    if (evicted) void killGroup(evicted.child, 1);
  }
}

/** Ends the warm Python processes (when the worker stops). */
export async function closePythonProcesses(): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  idleCount = 0;
  await Promise.all(all.map((proc) => killGroup(proc.child, 1)));
}

/**
 * Runs `pkg.module.func(**parameters)` in a warm Python process of its own process group: a
 * timeout or a cancel kills the group, and with it all the function started. A process whose work
 * ended (returned or raised) serves the same user's next work.
 */
export function runPython(
  work: PythonWork,
  options: PythonRunOptions,
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  const python = options.python ?? pythonExecutable();
  const key = JSON.stringify([python, options.cwd, work.user]);
  const proc = takeProcess(key, python, options.cwd);
  let stopped: StopReason | undefined;
  let killing: Promise<void> | undefined;
  let finished = false;
  const stop = (reason: StopReason) => {
    if (finished) return; // its process may already serve another work
    stopped ??= reason;
    killing ??= killGroup(proc.child);
  };
  const timer = setTimeout(() => stop("timeout"), work.timeout * 1000);

  const done = (async (): Promise<Outcome> => {
    const answer = await proc.call(
      work.function,
      work.parameters ?? {},
      options.roots,
      options.output,
    );
    finished = true;
    clearTimeout(timer);
    await killing;
    if (stopped) return stoppedOutcome(stopped, work.timeout);
    if (answer.kind === "ended") {
      if (answer.error)
        return failure(
          `cannot run ${python}: ${answer.error} (install Python 3, or set WORKFLOW_PYTHON to its path)`,
        );
      return failure(
        `the Python process ended (${answer.signal ?? `code ${answer.code}`}) before ${work.function} returned`,
      );
    }
    giveBack(key, proc);
    return fromReply(answer.reply, work.function, options);
  })();
  return { done, stop };
}

function fromReply(reply: PythonReply, fn: string, options: PythonRunOptions): Outcome {
  if (!reply.ok) {
    if (reply.traceback) {
      options.logger?.error({ function: fn, traceback: reply.traceback }, "the function raised");
      options.output?.("stderr", reply.traceback);
    }
    return failure(reply.error);
  }
  return {
    status: "success",
    results: reply.results ?? {},
    ...(reply.products ? { products: reply.products } : {}),
    ...(reply.plots ? { plots: reply.plots } : {}),
  };
}

const failure = (error: string): Outcome => ({ status: "failure", results: { error } });
