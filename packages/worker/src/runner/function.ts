import { fork } from "node:child_process";
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

/** Runs `module#export` in a child process (its own process group) and maps what it returns. */
export function runFunction(
  work: FunctionWork,
  cwd: string,
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  const child = fork(CHILD, [], {
    cwd,
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let stopped: StopReason | undefined;
  let reply: Reply | undefined;
  let killing: Promise<void> | undefined;
  const stop = (reason: StopReason) => {
    stopped ??= reason;
    killing ??= killGroup(child);
  };
  const timer = setTimeout(() => stop("timeout"), work.timeout * 1000);
  child.on("message", (message: Reply) => {
    reply = message;
  });
  child.send({ specifier: work.function, parameters: work.parameters ?? {}, cwd });

  const done = new Promise<Outcome>((resolve) => {
    child.once("exit", async (code, signal) => {
      clearTimeout(timer);
      await killing;
      if (stopped) return resolve(stoppedOutcome(stopped, work.timeout));
      if (!reply) {
        return resolve({
          status: "failure",
          results: {
            error: `the function's process ended (${signal ?? `code ${code}`}) without an answer`,
          },
        });
      }
      resolve(
        reply.ok ? fromReturn(reply.value) : { status: "failure", results: { error: reply.error } },
      );
    });
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
