import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Outcome, type StopReason, stoppedOutcome } from "./outcome.js";
import { killGroup } from "./process-group.js";

const CHILD = fileURLToPath(new URL("./function-child.js", import.meta.url));

export interface FunctionWork {
  function: string;
  parameters?: Record<string, unknown> | undefined;
  timeout: number;
}

type Reply = { ok: true; value: unknown } | { ok: false; error: string };

/** Warm processes waiting for their next function work, by working directory. */
const idle = new Map<string, ChildProcess[]>();

function takeProcess(cwd: string): ChildProcess {
  const warm = idle.get(cwd)?.pop();
  if (warm && warm.exitCode === null && warm.signalCode === null && warm.connected) return warm;
  const child = fork(CHILD, [], {
    cwd,
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  // An idle process must not keep the worker alive.
  child.unref();
  child.channel?.unref();
  return child;
}

function giveBack(cwd: string, child: ChildProcess): void {
  child.channel?.unref();
  idle.set(cwd, [...(idle.get(cwd) ?? []), child]);
}

/** Ends the warm processes (when the worker stops). */
export async function closeFunctionProcesses(): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  await Promise.all(all.map((child) => killGroup(child, 1)));
}

/**
 * Runs `module#export` in a child process of its own process group, so that a timeout or a cancel
 * can kill it and all it started. A process whose work ended normally is reused for the next one.
 */
export function runFunction(
  work: FunctionWork,
  cwd: string,
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  const child = takeProcess(cwd);
  child.channel?.ref();
  let stopped: StopReason | undefined;
  let killing: Promise<void> | undefined;
  let finished = false;
  const stop = (reason: StopReason) => {
    if (finished) return; // its process may already serve another work
    stopped ??= reason;
    killing ??= killGroup(child);
  };
  const timer = setTimeout(() => stop("timeout"), work.timeout * 1000);

  const done = new Promise<Outcome>((resolve) => {
    const finish = (outcome: Outcome) => {
      finished = true;
      clearTimeout(timer);
      child.off("message", onReply);
      child.off("exit", onExit);
      resolve(outcome);
    };
    const onReply = (reply: Reply) => {
      if (stopped) return; // the exit handler reports it
      finish(
        reply.ok ? fromReturn(reply.value) : { status: "failure", results: { error: reply.error } },
      );
      giveBack(cwd, child);
    };
    const onExit = async (code: number | null, signal: NodeJS.Signals | null) => {
      await killing;
      if (stopped) return finish(stoppedOutcome(stopped, work.timeout));
      finish({
        status: "failure",
        results: {
          error: `the function's process ended (${signal ?? `code ${code}`}) without an answer`,
        },
      });
    };
    child.on("message", onReply);
    child.once("exit", onExit);
    child.send({ specifier: work.function, parameters: work.parameters ?? {}, cwd });
  });
  return { done, stop };
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
