/** Finds and ends what a command left running after it exited, by the tag in its environment. */

import { randomUUID } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { KILL_GRACE_SECONDS } from "./process-group.js";

/** The variable that marks every process a command starts, wherever it goes (setsid, a daemon). */
export const TAG_VARIABLE = "WORKFLOW_COMMAND_TAG";

/** A fresh tag for one command, the value of TAG_VARIABLE in its environment. */
export function newTag(): string {
  return randomUUID();
}

/**
 * Ends what a command left behind outside its process group: processes that called setsid (or
 * daemonised) and so no group signal reaches, found by the tag they inherited in their
 * environment. They get SIGTERM, and SIGKILL after the grace period if they hold on. Linux only
 * (it reads /proc); elsewhere, or for a process that cleared its environment, nothing is found.
 */
export function killTagged(tag: string): void {
  const mark = Buffer.from(`${TAG_VARIABLE}=${tag}\0`);
  const tagged = (pids: number[]) => pids.filter((pid) => carries(pid, mark));
  const found = tagged(allPids());
  if (found.length === 0) return;
  for (const pid of found) signal(pid, "SIGTERM");
  setTimeout(() => {
    // Only those still tagged: a pid that ended may be another process's by now.
    for (const pid of tagged(found)) signal(pid, "SIGKILL");
  }, KILL_GRACE_SECONDS * 1000).unref();
}

function allPids(): number[] {
  try {
    return readdirSync("/proc")
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

function carries(pid: number, mark: Buffer): boolean {
  try {
    // The environment starts with a NUL-free variable: a leading NUL makes the first one match too.
    return Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${pid}/environ`)]).includes(
      Buffer.concat([Buffer.from([0]), mark]),
    );
  } catch {
    return false; // gone, or not ours to look at (and so not ours to signal)
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // ESRCH or EPERM: gone, or not the worker's to end
  }
}
