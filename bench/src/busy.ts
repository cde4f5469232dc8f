/** How busy each process was during a measurement, from /proc. */

import { readFileSync } from "node:fs";
import type { Run } from "./stats.js";

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on every Linux this runs on). */
const TICKS = 100;

/** CPU seconds a process has used so far (user + system), from /proc; 0 once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    // The command name, in parentheses, may hold spaces: count fields after its closing one.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

/** How busy each process was over a measurement: CPU seconds per wall second (1 = one core). */
export function busyMeter(processes: Record<string, (number | undefined)[]>) {
  const total = (pids: (number | undefined)[]) =>
    pids.reduce<number>((n, pid) => n + cpuSeconds(pid), 0);
  const before = Object.fromEntries(Object.entries(processes).map(([k, pids]) => [k, total(pids)]));
  const started = performance.now();
  return (): Record<string, number> => {
    const seconds = (performance.now() - started) / 1000;
    return Object.fromEntries(
      Object.entries(processes).map(([k, pids]) => [
        k,
        Math.round(((total(pids) - (before[k] ?? 0)) / seconds) * 100) / 100,
      ]),
    );
  };
}

/**
 * Runs a measurement through the service (`measure` answers its rate) and says how busy the
 * service, mongod and the bench's own process were meanwhile.
 */
export async function metered(
  h: { process: { pid?: number | undefined }; mongodPid?: number | undefined },
  measure: () => Promise<number>,
): Promise<Run> {
  const busy = busyMeter({ service: [h.process.pid], mongod: [h.mongodPid], bench: [process.pid] });
  const rate = await measure();
  return { rate, busy: busy() };
}
