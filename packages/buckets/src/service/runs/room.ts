import type { RunDoc, StepCounts } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import type { RunLease } from "./lease.js";

/**
 * How many more of a run's works an evaluation may queue: none while it is paused (and works
 * queued since, by a retry or an evaluation that read the run before the pause, go back to
 * waiting), else what its top-level max-parallel leaves, counted over all its steps.
 */
export async function runRoom(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  counts: Map<string, StepCounts>,
): Promise<number> {
  if (run.paused !== undefined) {
    await lease.check();
    await ctx.store.runWorks.pause(run);
    return 0;
  }
  if (run.maxParallel === undefined) return Number.POSITIVE_INFINITY;
  let active = 0;
  for (const { byStatus } of counts.values())
    active += (byStatus.queued ?? 0) + (byStatus.running ?? 0);
  const over = active - run.maxParallel;
  if (over > 0) {
    // Retries are queued by the reaper, which knows nothing of runs: the excess waits its turn.
    await lease.check();
    await ctx.store.runWorks.unqueue(run, over);
  }
  return run.maxParallel - active;
}
