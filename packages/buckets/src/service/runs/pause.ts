import type { RunPaused, RunResumed } from "@workflow/work";
import type { Principal } from "../../auth/tokens.js";
import { refuse } from "../../errors.js";
import { runAllows } from "../../run-machine.js";
import type { ObjectId } from "../../store/ids.js";
import type { ServiceContext } from "../context.js";
import { ownRun } from "./access.js";
import { releaseRuns } from "./release.js";

function notRunning(id: ObjectId, status: string, what: string) {
  return refuse(
    "wrong_status",
    `run ${id.toHexString()} is ${status}: only a running run can be ${what}`,
  );
}

/**
 * POST /runs/:id/pause (Gaia's halt): nothing more of the run is released or queued, its queued
 * works go back to waiting, and running ones finish and are recorded. Pausing a paused run
 * changes nothing.
 */
export async function pauseRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunPaused> {
  const run = await ownRun(ctx, principal, id);
  if (!runAllows("pause", run.status)) throw notRunning(id, run.status, "paused");
  const now = ctx.now();
  const paused = await ctx.store.runs.setPaused(id, now, { at: now, kind: "run paused" });
  if (!paused) {
    const fresh = await ctx.store.runs.get(id);
    if (!runAllows("pause", fresh?.status ?? "gone"))
      throw notRunning(id, fresh?.status ?? "gone", "paused");
    return { id: id.toHexString(), paused: true, waiting: 0 };
  }
  const waiting = await ctx.store.runWorks.pause(run);
  // An evaluation under way may have read the run before the pause: it evaluates again (and
  // sends back to waiting whatever it queued).
  await releaseRuns(ctx, [id]);
  return { id: id.toHexString(), paused: true, waiting };
}

/** POST /runs/:id/resume: a paused run carries on, released as its needs and limits allow. */
export async function resumeRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunResumed> {
  const run = await ownRun(ctx, principal, id);
  if (!runAllows("resume", run.status)) throw notRunning(id, run.status, "resumed");
  const now = ctx.now();
  await ctx.store.runs.setPaused(id, undefined, { at: now, kind: "run resumed" });
  await releaseRuns(ctx, [id]);
  return { id: id.toHexString(), paused: false };
}
