import type { ChildProcess } from "node:child_process";
import { type Ran, ran, WORKFLOW_CLI } from "./processes.js";
import type { Stack } from "./stack.js";

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

/** The environment a scientist's `workflow` reads to reach `stack`, as `user` (deposit + read). */
export const cliEnv = (stack: Stack, user = "alice"): Record<string, string> => ({
  PATH: process.env.PATH ?? "",
  WORKFLOW_TOKEN: stack.token(user, ["work:deposit", "work:read"]),
  WORKFLOW_HTTP_BASEURLS: stack.url,
});

/** An `onSpawn` that sends the command Ctrl-C (SIGINT), once, when its standard error has matched `when`. */
export const interruptWhen =
  (when: RegExp) =>
  (child: ChildProcess): void => {
    let seen = "";
    let interrupted = false;
    child.stderr?.on("data", (chunk: Buffer) => {
      seen += chunk;
      if (!interrupted && when.test(seen)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
  };
