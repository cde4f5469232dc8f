/** Runs a Python function work in a warm process of the pool. */

import type { Logger } from "../logger.js";
import type { Outcome, StopReason } from "./outcome.js";
import type { WarmPool } from "./pool.js";
import type { OutputSink } from "./python-output.js";
import { PythonProcess, type PythonReply } from "./python-process.js";
import { Stopper } from "./stopper.js";

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
  /** Where warm processes wait between works (the worker's one pool). */
  pool: WarmPool;
}

/** The interpreter to run: WORKFLOW_PYTHON, else python3 on the PATH. */
export function pythonExecutable(env: Record<string, string | undefined> = process.env): string {
  return env.WORKFLOW_PYTHON || "python3";
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
  const key = JSON.stringify(["python", python, options.cwd, work.user]);
  const proc = options.pool.take(key, () => new PythonProcess(python, options.cwd));
  const stopper = new Stopper(proc.child, work.timeout);

  const done = (async (): Promise<Outcome> => {
    const answer = await proc.call(
      work.function,
      work.parameters ?? {},
      options.roots,
      options.output,
    );
    stopper.finish();
    await stopper.killing;
    const stopped = stopper.outcome();
    if (stopped) return stopped;
    if (answer.kind === "ended") {
      if (answer.error)
        return failure(
          `cannot run ${python}: ${answer.error} (install Python 3, or set WORKFLOW_PYTHON to its path)`,
        );
      return failure(
        `the Python process ended (${answer.signal ?? `code ${answer.code}`}) before ${work.function} returned`,
      );
    }
    options.pool.giveBack(key, proc);
    return fromReply(answer.reply, work.function, options);
  })();
  return { done, stop: stopper.stop };
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
