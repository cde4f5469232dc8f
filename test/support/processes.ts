import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const WORKFLOW_CLI = join(ROOT, "packages/worker/dist/cli.js");
export const BUCKETS_CLI = join(ROOT, "packages/buckets/dist/cli.js");

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A child process that the test owns: stopped (SIGKILL if need be) by `stop`, and awaited. */
export interface Owned {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function own(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
): Owned {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = "SIGKILL") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The service as its own process (`buckets serve`), on `port`. */
export function serviceProcess(port: number, env: Record<string, string>): Owned {
  return own(process.execPath, [BUCKETS_CLI, "serve"], {
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ...env,
  });
}

/** A worker as its own process (`workflow run`). */
export function workerProcess(args: string[], env: Record<string, string>, cwd = ROOT): Owned {
  return own(
    process.execPath,
    [WORKFLOW_CLI, "run", ...args],
    { LOG_LEVEL: "warn", HOME: cwd, ...env },
    cwd,
  );
}

/** Resolves once `url` answers 200, or throws after `ms`. */
export async function waitForHttp(url: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${ms} ms`);
}

/** True unless the kernel says there is no such process (ESRCH). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** The pids a test's command wrote to `file`, one a line; none before it wrote. */
export function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split(/\s+/).filter(Boolean).map(Number);
}

/** SIGKILL to what the commands recorded in these files: whatever a failed test left running. */
export function killRecorded(files: string[]): void {
  for (const pid of files.flatMap(pidsIn)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
