/** Runs a Node function work in a warm process of the pool. */

import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { childEnv } from "@workflow/work";
import { resolveFunction } from "./function-roots.js";
import type { Outcome, StopReason } from "./outcome.js";
import { fileStamp, type WarmPool, type WarmProcess } from "./pool.js";
import { killGroup } from "./process-group.js";
import type { OutputSink } from "./python-output.js";
import { Stopper } from "./stopper.js";

const CHILD = fileURLToPath(new URL("./function-child.js", import.meta.url));

export interface FunctionWork {
  function: string;
  parameters?: Record<string, unknown> | undefined;
  timeout: number;
  /** Whose work it is: a warm process serves one user's works only. */
  user: string;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: string };
/** What the function printed, sent on the same channel as its reply so that none comes after it. */
type Printed = { output: { stream: "stdout" | "stderr"; text: string } };

/** A warm Node process for function works; it remembers the module files it imported. */
class NodeProcess implements WarmProcess {
  readonly child: ChildProcess;
  readonly loaded = new Map<string, string>();

  constructor(cwd: string) {
    this.child = fork(CHILD, [], {
      cwd,
      detached: true,
      env: childEnv(),
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    // Errors are taken up by the work that uses the process; an unheard one would end the worker.
    this.child.on("error", () => {});
    // An idle process must not keep the worker alive.
    this.child.unref();
    this.child.channel?.unref();
  }

  get alive(): boolean {
    const { child } = this;
    return child.exitCode === null && child.signalCode === null && child.connected;
  }

  /** Node never imports a module twice: the stamp taken before the first import is what runs. */
  importing(file: string): void {
    if (!this.loaded.has(file)) this.loaded.set(file, fileStamp(file));
  }

  idle(): void {
    this.child.channel?.unref();
  }

  end(): Promise<void> {
    return killGroup(this.child, 1);
  }
}

/**
 * Runs `module#export` in a child process of its own process group, so that a timeout or a cancel
 * can kill it and all it started. A process whose work ended normally is reused for the next one.
 */
export function runFunction(
  work: FunctionWork,
  cwd: string,
  roots: readonly string[],
  pool: WarmPool,
  output: OutputSink = (stream, text) => {
    process[stream].write(text);
  },
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  const key = JSON.stringify(["node", cwd, work.user]);
  let target: { file: string; name: string };
  let proc: NodeProcess;
  try {
    target = resolveFunction(work.function, cwd, roots);
    proc = pool.take(key, () => new NodeProcess(cwd));
    proc.importing(target.file);
  } catch (error) {
    return {
      done: Promise.resolve({ status: "failure", results: { error: (error as Error).message } }),
      stop() {},
    };
  }
  const { child } = proc;
  child.channel?.ref();
  const stopper = new Stopper(child, work.timeout);

  const done = new Promise<Outcome>((resolve) => {
    const finish = (outcome: Outcome) => {
      stopper.finish();
      child.off("message", onReply);
      child.off("exit", onExit);
      child.off("error", onError);
      resolve(outcome);
    };
    const onReply = (reply: Reply | Printed) => {
      if ("output" in reply) return output(reply.output.stream, String(reply.output.text));
      if (stopper.stopped) return; // the exit handler reports it
      finish(
        reply.ok ? fromReturn(reply.value) : { status: "failure", results: { error: reply.error } },
      );
      pool.giveBack(key, proc);
    };
    const onExit = async (code: number | null, signal: NodeJS.Signals | null) => {
      await stopper.killing;
      const stopped = stopper.outcome();
      if (stopped) return finish(stopped);
      finish({
        status: "failure",
        results: {
          error: `the function's process ended (${signal ?? `code ${code}`}) without an answer`,
        },
      });
    };
    // The process could not start (a missing directory) or take the work: the attempt fails.
    const onError = (error: Error) => {
      if (stopper.finished) return;
      void stopper.kill();
      finish({
        status: "failure",
        results: { error: `cannot start the function: ${error.message}` },
      });
    };
    child.on("message", onReply);
    child.once("exit", onExit);
    child.once("error", onError);
    child.send({ ...target, parameters: work.parameters ?? {} }, (error) => {
      if (error) onError(error);
    });
  });
  return { done, stop: stopper.stop };
}

/** An object becomes `results`; `{results, products, plots}` fills each; anything else is `{value}`. */
export function fromReturn(value: unknown): Outcome {
  if (value === null || value === undefined) return { status: "success", results: {} };
  if (typeof value !== "object" || Array.isArray(value))
    return { status: "success", results: { value } };
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  const shaped =
    keys.length > 0 &&
    keys.includes("results") &&
    keys.every((k) => ["results", "products", "plots"].includes(k));
  if (!shaped) return { status: "success", results: record };
  return {
    status: "success",
    results: (record.results ?? {}) as Record<string, unknown>,
    ...(Array.isArray(record.products) ? { products: record.products.map(String) } : {}),
    ...(Array.isArray(record.plots) ? { plots: record.plots.map(String) } : {}),
  };
}
