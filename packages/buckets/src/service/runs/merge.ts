import {
  MergeStepsSchema,
  mergeSteps,
  PipelineConfigError,
  type StepsMerged,
  stepsOf,
} from "@workflow/work";
import type { Principal } from "../../auth/tokens.js";
import { invalid, refuse } from "../../errors.js";
import type { ObjectId } from "../../store/ids.js";
import {
  freshObjectId,
  type Merging,
  type RunDoc,
  type RunStep,
  type WorkDoc,
} from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import { ownRun } from "./access.js";
import { downstreamOf } from "./control.js";
import { checkGrowth, plan, worksOf } from "./create.js";
import { LeaseLost, RunLease } from "./lease.js";
import { finishMerge, type MergingRun, UNDO_AFTER_SECONDS } from "./merge-finish.js";
import { releaseRuns } from "./release.js";
import { runStepOf } from "./run-steps.js";

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

const notRunning = (id: ObjectId, status: string) =>
  refuse(
    "wrong_status",
    `run ${id.toHexString()} is ${status}: steps merge only into a running run; rerun it first`,
  );

/**
 * POST /runs/:id/steps (Gaia's merge): adds steps to a running run, or puts new definitions in
 * place of its steps of the same name. A replaced step and every step after it run again (their
 * works go back to waiting, running ones are cancelled); the others keep their results. The
 * merged config is checked as a whole first: a cycle or an unknown need is refused naming the step.
 *
 * Crash-safe: everything it changes is recorded on the run first (`merging`), then its works are
 * stored, then the old ones are swapped out (./merge-finish.ts). Cut short anywhere, the run's
 * next evaluation finishes it, or undoes it if its works were not all stored yet.
 */
export async function mergeRunSteps(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
  body: unknown,
): Promise<StepsMerged> {
  const run = await ownRun(ctx, principal, id);
  const request = parseWith(MergeStepsSchema, body, "body");
  if (run.status !== "running") throw notRunning(id, run.status);
  const given = configError(() => stepsOf(request.steps));
  const lockId = await lockRun(ctx, id);
  const lease = new RunLease(ctx, id, lockId);
  let answer!: StepsMerged;
  /** How far it got: what a merge whose time ran out (LeaseLost) can still say of itself. */
  let stage: "reading" | "recorded" | "stored" = "reading";
  try {
    await lease.check();
    // A lock taken means no evaluation is under way: the run read now is the one to change.
    let current = (await ctx.store.runs.get(id)) as RunDoc;
    if (current.merging) {
      // An earlier merge was cut short: it is finished first, and this one merges into its result.
      if ((await finishMerge(ctx, lease, current as MergingRun)) === "storing") {
        throw refuse(
          "changed",
          `run ${id.toHexString()}: an earlier merge was cut short while storing its works; merge again in ${UNDO_AFTER_SECONDS} s`,
        );
      }
      current = (await ctx.store.runs.get(id)) as RunDoc;
    }
    if (current.status !== "running") throw notRunning(id, current.status);
    const { merging, docs } = intentOf(ctx, principal, current, given);
    answer = { id: id.toHexString(), ...pick(merging), works: docs.length };
    if (merging.added.length === 0 && merging.replaced.length === 0) return answer;
    await lease.check();
    await ctx.store.runs.save(id, lockId, { merging }, []);
    stage = "recorded";
    ctx.failpoint?.("merge:recorded");
    await lease.check();
    if (docs.length > 0) await ctx.store.deposit(docs);
    stage = "stored";
    await finishMerge(ctx, lease, { ...current, merging });
  } catch (error) {
    if (!(error instanceof LeaseLost)) throw error;
    // Its works all stored, the run's next evaluation finishes the merge: it is done, if later.
    if (stage !== "stored") throw tooSlow(id, stage);
  } finally {
    await ctx.store.runs.letGo(id, lockId);
  }
  await releaseRuns(ctx, [id]);
  return answer;
}

/** A merge that ran out of time before its works were all stored: nothing of it will stay. */
const tooSlow = (id: ObjectId, stage: "reading" | "recorded") =>
  refuse(
    "changed",
    stage === "reading"
      ? `run ${id.toHexString()}: the merge took too long and changed nothing; merge again`
      : `run ${id.toHexString()}: the merge took too long while storing its works, and is undone; merge again in ${UNDO_AFTER_SECONDS} s`,
  );

const pick = ({ added, replaced, again }: Merging) => ({ added, replaced, again });

function configError<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof PipelineConfigError) throw invalid(error.message, error.details);
    throw error;
  }
}

/** What merging `given` into the run changes, and the works it makes (marked as its own). */
function intentOf(
  ctx: ServiceContext,
  principal: Principal,
  current: RunDoc,
  given: Record<string, unknown>[],
): { merging: Merging; docs: WorkDoc[] } {
  const id = current._id;
  const { config, added, replaced } = configError(() => mergeSteps(current.config, given));
  const mergeId = freshObjectId();
  const planned = plan(principal, config, current.params);
  const now = ctx.now();
  const fresh = planned.steps.filter((s) => added.includes(s.name) || replaced.includes(s.name));
  const docs = fresh.flatMap((step) =>
    worksOf(ctx, principal, step, id, now, 0).map((doc) => ({
      ...doc,
      status: "waiting" as const,
      merged: mergeId,
    })),
  );
  // A step that grows makes its works later: its template is checked now, as POST /runs checks it.
  const later = fresh.flatMap((s) => (s.growth ? [checkGrowth(ctx, principal, s)] : []));
  const stranger = [...docs, ...later].find((d) => d.user !== current.user)?.user;
  if (stranger) {
    throw invalid(`a run belongs to one user (${current.user}); a merged step names ${stranger}`);
  }
  const again = downstreamOf({ steps: planned.steps as unknown as RunStep[] }, replaced).filter(
    (name) => !added.includes(name) && !replaced.includes(name),
  );
  const renewed = new Set([...added, ...replaced, ...again]);
  const before = new Map(current.steps.map((s) => [s.name, s]));
  const steps = planned.steps.map((s) => {
    const kept = before.get(s.name);
    // Released by the evaluation after the merge, which queues what its needs and limits allow.
    return kept && !renewed.has(s.name) ? kept : runStepOf(planned, s, false);
  });
  const merging: Merging = {
    id: mergeId,
    at: now,
    added,
    replaced,
    again,
    works: docs.length,
    config: planned.config as unknown as Record<string, unknown>,
    steps,
    pipelines: [
      ...new Set([...current.pipelines, ...[...docs, ...later].map((d) => d.pipeline)]),
    ].sort(),
  };
  return { merging, docs };
}
