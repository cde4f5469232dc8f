import {
  type RerunAnswer,
  RerunSchema,
  type RunCancelled,
  RunListParamsSchema,
  type RunSummary,
  timeoutSeconds,
} from "@workflow/work";
import { requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { invalid, refuse } from "../../errors.js";
import { RUN_TRANSITIONS, runAllows } from "../../run-machine.js";
import type { ObjectId } from "../../store/ids.js";
import type { Rerun, RunDoc, RunRef, RunStatus } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import { listedUser, ownRun, readableRun } from "./access.js";
import { endRun } from "./finish.js";
import { releaseRuns } from "./release.js";
import { summaryOf } from "./summary.js";

/** A rerun still pending this long after it began was cut short by a crash. */
const ABANDONED_RERUN_SECONDS = 60;

/** GET /runs/:id: the run, each step's counts by status, and its events. */
export async function getRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunSummary> {
  const run = await readableRun(ctx, principal, id);
  return summaryOf(run, await ctx.store.runWorks.counts(run));
}

/**
 * GET /runs: newest first, filtered by name, user and status, within the token's pipelines; only
 * the caller's own without work:read.
 */
export async function listRuns(
  ctx: ServiceContext,
  principal: Principal,
  query: unknown,
): Promise<RunSummary[]> {
  requireScope(principal, "work:read", "work:deposit");
  const q = parseWith(RunListParamsSchema, query, "query");
  const user = listedUser(principal, q.user);
  if (user === null) return [];
  const runs = await ctx.store.runs.list(
    {
      name: q.name,
      user,
      status: q.status as RunStatus | undefined,
      within: principal.pipelines,
    },
    q.limit,
    q.skip,
  );
  return runs.map((run) => summaryOf({ ...run, events: undefined } as unknown as RunDoc));
}

/**
 * POST /runs/:id/cancel: the run ends cancelled, nothing of it can be claimed any more, and its
 * running works learn it at their next heartbeat.
 */
export async function cancelRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunCancelled> {
  const run = await ownRun(ctx, principal, id);
  const now = ctx.now();
  if (!(await endRun(ctx, run, "cancelled", now))) {
    throw refuse(
      "wrong_status",
      `run ${id.toHexString()} is ${(await ctx.store.runs.get(id))?.status}: only a running run can be cancelled`,
    );
  }
  const cancelled = await ctx.store.runWorks.cancel(run, now);
  return { id: id.toHexString(), cancelled };
}

/** Steps that need any of `from`, transitively. */
export function downstreamOf(run: Pick<RunDoc, "steps">, from: string[]): string[] {
  const out = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const step of run.steps) {
      if (out.has(step.name) || from.includes(step.name)) continue;
      if (step.needs.some((n) => out.has(n) || from.includes(n))) {
        out.add(step.name);
        grew = true;
      }
    }
  }
  return [...out];
}

/**
 * POST /runs/:id/rerun: the chosen works (a work, some steps, or every step; only failures with
 * `failedOnly`) and, with `downstream`, every work of the steps after them go back to waiting with
 * fresh retries, and are released again as their needs allow (Gaia's expire, d6tflow's reset).
 */
export async function rerunRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
  body: unknown,
): Promise<RerunAnswer> {
  const run = await ownRun(ctx, principal, id);
  const request = parseWith(RerunSchema, body ?? {}, "body");
  if (!runAllows("rerun", run.status)) {
    throw refuse(
      "wrong_status",
      `run ${id.toHexString()} is still running: cancel it, or rerun once it ends`,
    );
  }
  if (request.failedOnly && request.unfinishedOnly) {
    throw invalid("failedOnly and unfinishedOnly: choose one (unfinishedOnly reruns failures too)");
  }
  let steps = request.steps ?? [];
  let ids: ObjectId[] | undefined;
  if (request.work) {
    const work = await ctx.store.findOne(request.work);
    if (!work?.run?.equals(id))
      throw invalid(`work ${request.work} is not part of run ${id.toHexString()}`);
    steps = [work.step as string];
    ids = [work._id];
  }
  for (const name of steps) {
    if (!run.steps.some((s) => s.name === name)) {
      throw invalid(
        `run ${id.toHexString()} has no step "${name}"; its steps are ${run.steps.map((s) => s.name).join(", ")}`,
      );
    }
  }
  if (steps.length === 0) {
    // Every step; with failedOnly the steps that failed (or, in a run cut short, were cancelled or
    // had not ended: their works may have failed before); with unfinishedOnly every step that did
    // not succeed.
    steps = run.steps
      .filter((s) => {
        if (request.unfinishedOnly) return s.outcome !== "success";
        return (
          !request.failedOnly ||
          s.outcome === "failure" ||
          s.outcome === "cancelled" ||
          s.outcome === undefined
        );
      })
      .map((s) => s.name);
  }
  const downstream = request.downstream ? downstreamOf(run, steps) : [];
  const now = ctx.now();
  const rerun: Rerun = {
    at: now,
    steps,
    ...(ids ? { ids } : {}),
    failedOnly: request.failedOnly,
    ...(request.unfinishedOnly ? { unfinishedOnly: true } : {}),
    downstream,
  };
  const { at: _at, downstream: _d, ...chosen } = rerun;
  if ((await ctx.store.runWorks.rerunnable(run, chosen, downstream)) === 0) {
    // Nothing goes back to waiting: the run stays as it ended (reopened, it would end again at
    // once, and a cancelled run would turn into a failed one).
    return { id: id.toHexString(), works: 0, steps: [] };
  }
  // Back to running first (an evaluation leaves a finished run alone), marked as rerunning so that
  // no evaluation sees the works' old outcomes before they are back to waiting, and with what it
  // reruns so that the sweep can finish the rerun if this instance dies in between.
  const touched = new Set([...steps, ...downstream]);
  const timeout = run.config.timeout;
  const resetSteps = run.steps.map((s) => {
    if (!touched.has(s.name)) return s;
    const { outcome: _o, ...rest } = s;
    // A step made from results is made again when they may change, or when making it failed.
    const regrow = s.growth && (s.works === 0 || s.needs.some((n) => touched.has(n)));
    return { ...rest, released: s.needs.length === 0, ...(regrow ? { grown: false } : {}) };
  });
  const reopened = await ctx.store.runs.setStatus(
    id,
    [...RUN_TRANSITIONS.rerun.from],
    {
      status: RUN_TRANSITIONS.rerun.to,
      steps: resetSteps,
      checked: now,
      rerunning: rerun,
      // A rerun has its config's whole timeout again: a timed-out run would end again at once.
      ...(typeof timeout === "string" || typeof timeout === "number"
        ? { deadline: now + timeoutSeconds(timeout) }
        : {}),
    },
    [{ at: now, kind: "rerun", detail: [...touched].join(", ") }],
    ["finished", "callback.due", "callback.delivered", "callback.error"],
  );
  if (!reopened)
    throw refuse("changed", `run ${id.toHexString()} changed while being rerun; retry`);
  const works = await finishRerun(ctx, run, rerun);
  return { id: id.toHexString(), works, steps: [...touched] };
}

/** Its works back to waiting, then the run may be evaluated again. Repeating it changes nothing. */
async function finishRerun(ctx: ServiceContext, run: RunRef, rerun: Rerun): Promise<number> {
  const { at: _at, downstream, ...chosen } = rerun;
  const works = await ctx.store.runWorks.rerun(run, chosen, downstream);
  // While the run is marked rerunning no release reads them: the chosen works run again.
  await ctx.store.cache.markUncached(run, chosen);
  await ctx.store.runs.rerunDone(run._id, rerun.at);
  await releaseRuns(ctx, [run._id]);
  return works;
}

/**
 * Finishes the reruns an instance began and never finished (it died between the run's write and
 * its works'). Only those older than a request takes, so that a rerun still under way is not
 * finished twice (its works could have run again in between).
 */
export async function sweepReruns(ctx: ServiceContext, limit = 100): Promise<number> {
  const pending = await ctx.store.runs.abandonedReruns(ctx.now() - ABANDONED_RERUN_SECONDS, limit);
  for (const run of pending) {
    if (run.rerunning) await finishRerun(ctx, run, run.rerunning);
  }
  return pending.length;
}
