import type { ChildProcess } from "node:child_process";
import { type Ran, ran, WORKFLOW_CLI } from "./processes.js";

export type { Ran };

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
  return ran(process.execPath, [WORKFLOW_CLI, ...args], {
    env: { PATH: process.env.PATH ?? "", ...env },
    input,
    onSpawn,
  });
}
