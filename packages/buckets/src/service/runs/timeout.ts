import { spokenDuration } from "@workflow/work";
import type { RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { endRun } from "./finish.js";
import { RunLease } from "./lease.js";

/** Whether a run's config `timeout` has passed. */
export const overdue = (run: Pick<RunDoc, "deadline">, now: number): boolean =>
  run.deadline !== undefined && now >= run.deadline;

/**
 * Ends a run whose timeout passed, while holding its evaluation lease: `timedout`, and its
 * unfinished works cancelled (running ones learn it at their next heartbeat).
 */
export async function timeOut(ctx: ServiceContext, lease: RunLease, run: RunDoc): Promise<void> {
  const now = ctx.now();
  const given = run.config?.timeout;
  const detail = `its timeout${given === undefined ? "" : ` of ${given}`} passed after ${spokenDuration(now - run.created)}`;
  await lease.check();
  if (await endRun(ctx, run, "timedout", now, detail)) {
    await ctx.store.runWorks.cancel(run, now);
  }
}

/**
 * The periodic loop's part: times out every running run past its deadline. Each is taken with
 * its evaluation lock, so that with several instances one acts and the others leave it (a run
 * whose lock is held is evaluated by its holder, which times it out itself). The deadline is
 * stored with the run, so a restarted service finds it.
 */
export async function timeOutRuns(ctx: ServiceContext, limit = 100): Promise<number> {
  const now = ctx.now();
  let ended = 0;
  for (const run of await ctx.store.runs.overdue(now, limit)) {
    const lockId = await ctx.store.runs.lock(run._id, now);
    if (!lockId) {
      await ctx.store.runs.markDirty(run._id);
      continue;
    }
    try {
      await timeOut(ctx, new RunLease(ctx, run._id, lockId), { ...run, events: [] });
      ended++;
    } catch (error) {
      ctx.events.emit("task:error", "timeout", error);
    } finally {
      await ctx.store.runs.letGo(run._id, lockId);
    }
  }
  return ended;
}
