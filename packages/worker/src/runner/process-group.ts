/** Ends a child with everything it started: its whole process group. */

import type { ChildProcess } from "node:child_process";

/** Seconds between SIGTERM and SIGKILL. */
export const KILL_GRACE_SECONDS = 5;
const POLL_MS = 50;

/**
 * Ends a child started with `detached: true` together with everything it started: the whole
 * process group gets SIGTERM, then SIGKILL once the grace period is over if anything is left.
 * Resolves when the group is empty.
 */
export async function killGroup(
  child: ChildProcess,
  graceSeconds = KILL_GRACE_SECONDS,
): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  signalGroup(pid, "SIGTERM");
  const hardAt = Date.now() + graceSeconds * 1000;
  while (groupAlive(pid)) {
    if (Date.now() >= hardAt) {
      signalGroup(pid, "SIGKILL");
      await waitUntilEmpty(pid, 2_000);
      return;
    }
    await sleep(POLL_MS);
  }
}

/** Whether any process of the group is left (signal 0 only checks). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}

async function waitUntilEmpty(pid: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (groupAlive(pid) && Date.now() < until) await sleep(POLL_MS);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
