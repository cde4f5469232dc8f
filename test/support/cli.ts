import { type ChildProcess, spawn } from "node:child_process";
import { ROOT, WORKFLOW_CLI } from "./processes.js";

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real `workflow` command with only the environment given (and PATH, HOME); `onOutput`
 * sees standard output and error as they come, for tests that act in the middle of a run.
 */
export function runWorkflow(
  args: string[],
  {
    env = {},
    input = "",
    onSpawn,
  }: {
    env?: Record<string, string>;
    input?: string;
    onSpawn?: (child: ChildProcess) => void;
  } = {},
): Promise<Ran> {
  const child = spawn(process.execPath, [WORKFLOW_CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", ...env },
  });
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
  const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}
