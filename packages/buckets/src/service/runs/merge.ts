import { MergeStepsSchema, mergeSteps, PipelineConfigError, stepsOf } from "@workflow/work";
import type { Principal } from "../../auth/tokens.js";
import { invalid, refuse } from "../../errors.js";
import type { ObjectId } from "../../store/ids.js";
import type { RunDoc, RunStep } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import { ownRun } from "./access.js";
import { downstreamOf } from "./control.js";
import { plan, worksOf } from "./create.js";
import { RunLease } from "./lease.js";
import { releaseRuns } from "./release.js";

/** How long a merge waits for an evaluation of the run to give its lock back. */
const LOCK_WAIT_MS = 5_000;
const LOCK_POLL_MS = 50;

/** The run's evaluation lock, waited for while another instance briefly holds it. */
async function lockRun(ctx: ServiceContext, id: ObjectId): Promise<ObjectId> {
  for (let waited = 0; waited < LOCK_WAIT_MS; waited += LOCK_POLL_MS) {
    const lockId = await ctx.store.runs.lock(id, ctx.now());
    if (lockId) return lockId;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
  throw refuse(
    "changed",
    `run ${id.toHexString()} is being evaluated: retry the merge in a moment`,
  );
}

/**
 * POST /runs/:id/steps (Gaia's merge): adds steps to a running run, or puts new definitions in
 * place of its steps of the same name. A replaced step and every step after it run again (their
 * works go back to waiting, running ones are cancelled); the others keep their results. The
 * merged config is checked as a whole first: a cycle or an unknown need is refused naming the step.
 */
export async function mergeRunSteps(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
  body: unknown,
) {
  const run = await ownRun(ctx, principal, id);
  const request = parseWith(MergeStepsSchema, body, "body");
  if (run.status !== "running") {
    throw refuse(
      "wrong_status",
      `run ${id.toHexString()} is ${run.status}: steps merge only into a running run; rerun it first`,
    );
  }
  let merged: ReturnType<typeof mergeSteps>;
  try {
    merged = mergeSteps(run.config, stepsOf(request.steps));
  } catch (error) {
    if (error instanceof PipelineConfigError) throw invalid(error.message, error.details);
    throw error;
  }
  const { added, replaced } = merged;
  if (added.length === 0 && replaced.length === 0) {
    return { id: id.toHexString(), added, replaced, again: [], works: 0 };
  }
  const planned = plan(principal, merged.config, run.params);
  const now = ctx.now();
  const fresh = planned.steps.filter((s) => added.includes(s.name) || replaced.includes(s.name));
  const docs = fresh.flatMap((step) =>
    worksOf(ctx, principal, step, id, now, 0).map((doc) => ({
      ...doc,
      status: "waiting" as const,
    })),
  );
  const stranger = docs.find((d) => d.user !== run.user);
  if (stranger) {
    throw invalid(`a run belongs to one user (${run.user}); a merged step names ${stranger.user}`);
  }
  const again = downstreamOf({ steps: planned.steps as unknown as RunStep[] }, replaced).filter(
    (name) => !added.includes(name) && !replaced.includes(name),
  );
  const lockId = await lockRun(ctx, id);
  const lease = new RunLease(ctx, id, lockId);
  try {
    await lease.check();
    // A lock taken means no evaluation is under way: the run read now is the one to change.
    const current = (await ctx.store.runs.get(id)) as RunDoc;
    if (current.status !== "running") {
      throw refuse(
        "wrong_status",
        `run ${id.toHexString()} ended while the merge waited: rerun it first`,
      );
    }
    for (const name of replaced) await ctx.store.runWorks.cancel(id, now, name);
    await ctx.store.runWorks.removeSteps(id, replaced);
    for (const name of again) await ctx.store.runWorks.cancel(id, now, name);
    await ctx.store.runWorks.rerun(id, { steps: [], failedOnly: false }, again);
    await lease.check();
    if (docs.length > 0) await ctx.store.deposit(docs);
    const before = new Map(current.steps.map((s) => [s.name, s]));
    const renewed = new Set([...added, ...replaced, ...again]);
    const steps: RunStep[] = planned.steps.map((s) => {
      const kept = before.get(s.name);
      if (kept && !renewed.has(s.name)) return kept;
      return {
        name: s.name,
        needs: s.needs,
        if: s.if,
        ...(s.maxParallel ? { maxParallel: s.maxParallel } : {}),
        failFast: s.failFast,
        matrix: planned.config.pipeline.steps.find((c) => c.name === s.name)?.matrix !== undefined,
        works: s.works.length,
        // Released by the evaluation below, which also queues what its needs and limits allow.
        released: false,
      };
    });
    const detail = [
      added.length > 0 ? `added ${added.join(", ")}` : "",
      replaced.length > 0 ? `replaced ${replaced.join(", ")}` : "",
      again.length > 0 ? `again ${again.join(", ")}` : "",
    ].filter(Boolean);
    await ctx.store.runs.save(
      id,
      lockId,
      {
        steps,
        config: planned.config as unknown as Record<string, unknown>,
        pipelines: [...new Set([...current.pipelines, ...docs.map((d) => d.pipeline)])].sort(),
      },
      [{ at: now, kind: "steps merged", detail: detail.join("; ") }],
    );
  } finally {
    await ctx.store.runs.letGo(id, lockId);
  }
  await releaseRuns(ctx, [id]);
  return { id: id.toHexString(), added, replaced, again, works: docs.length };
}
