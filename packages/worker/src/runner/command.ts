import { spawn } from "node:child_process";
import { type Outcome, type StopReason, stoppedOutcome } from "./outcome.js";
import { groupAlive, killGroup } from "./process-group.js";
import { Tail } from "./tail.js";

/** Bytes of stdout and of stderr kept for `results`. */
export const TAIL_BYTES = 64 * 1024;

export interface CommandWork {
  command: string[];
  parameters?: Record<string, unknown> | undefined;
  timeout: number;
  /** When the work already has results, the output is not put in them. */
  hasResults: boolean;
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

/**
 * The argv to run. Several items run without a shell, each placeholder filled in place (a value
 * never becomes more than the item it sits in). One item runs with `sh -c`, and each placeholder
 * becomes a positional parameter ("$1"...), so its value reaches the shell as data, never as code.
 */
export function toArgv(command: string[], parameters: Record<string, unknown> = {}): string[] {
  const text = (name: string): string => {
    if (!(name in parameters))
      throw new Error(`command uses {{${name}}} but parameters has no "${name}"`);
    const value = parameters[name];
    return typeof value === "string" ? value : JSON.stringify(value);
  };
  if (command.length > 1)
    return command.map((item) => item.replace(PLACEHOLDER, (_m, name: string) => text(name)));
  const values: string[] = [];
  const script = (command[0] ?? "").replace(PLACEHOLDER, (_m, name: string) => {
    values.push(text(name));
    return `"$${values.length}"`;
  });
  return ["/bin/sh", "-c", script, "sh", ...values];
}

/** Runs a command work in its own process group; `stop` ends it early (timeout, cancel, shutdown). */
export function runCommand(
  work: CommandWork,
  cwd: string,
): { done: Promise<Outcome>; stop(reason: StopReason): void } {
  let stopped: StopReason | undefined;
  let argv: string[];
  try {
    argv = toArgv(work.command, work.parameters);
  } catch (error) {
    return {
      done: Promise.resolve({ status: "failure", results: { error: (error as Error).message } }),
      stop() {},
    };
  }
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout = new Tail(TAIL_BYTES);
  const stderr = new Tail(TAIL_BYTES);
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  let killing: Promise<void> | undefined;
  const stop = (reason: StopReason) => {
    stopped ??= reason;
    killing ??= killGroup(child);
  };
  const timer = setTimeout(() => stop("timeout"), work.timeout * 1000);

  const done = new Promise<Outcome>((resolve) => {
    child.once("error", (error) => {
      clearTimeout(timer);
      resolve({ status: "failure", results: { error: `cannot run ${argv[0]}: ${error.message}` } });
    });
    child.once("exit", async (code, signal) => {
      clearTimeout(timer);
      // Whatever the command left behind in its group goes with it.
      await (killing ?? (groupAlive(child.pid as number) ? killGroup(child) : undefined));
      await Promise.all([closed(child.stdout), closed(child.stderr)]);
      const output = {
        exitCode: code,
        ...(signal ? { signal } : {}),
        stdout: stdout.toString(),
        stderr: stderr.toString(),
      };
      const extra = work.hasResults ? {} : output;
      if (stopped) return resolve(stoppedOutcome(stopped, work.timeout, extra));
      if (code === 0)
        return resolve({ status: "success", ...(work.hasResults ? {} : { results: output }) });
      resolve({
        status: "failure",
        results: { ...extra, error: `exited with ${signal ?? `code ${code}`}` },
      });
    });
  });
  return { done, stop };
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
