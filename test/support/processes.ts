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

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` to its end with only the environment given, `input` on its standard input, and
 * answers its exit code and output; SIGKILLed after `ms`. `onSpawn` sees the child as it starts,
 * for tests that act in the middle of a run.
 */
export function ran(
  command: string,
  args: string[],
  {
    cwd = ROOT,
    env,
    input = "",
    ms = 120_000,
    onSpawn,
  }: {
    cwd?: string;
    env: Record<string, string>;
    input?: string;
    ms?: number;
    onSpawn?: (child: ChildProcess) => void;
  },
): Promise<Ran> {
  const child = spawn(command, args, { cwd, env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk;
  });
  child.stdin.end(input);
  onSpawn?.(child);
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
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

/** Whether `pid` is a live process (Linux /proc): a zombie waiting to be reaped is not. */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The pids a test's command wrote to `file`, one a line; none before it wrote. */
export function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8").split(/\s+/).filter(Boolean).map(Number);
}

/**
 * SIGKILL to what the commands recorded in these files: whatever a failed test left running
 * (with `groups`, each pid's whole process group, for commands that run in a group of their own).
 */
export function killRecorded(files: string[], { groups = false }: { groups?: boolean } = {}): void {
  for (const pid of files.flatMap(pidsIn)) {
    try {
      process.kill(groups ? -pid : pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}
