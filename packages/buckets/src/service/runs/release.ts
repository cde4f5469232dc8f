/**
 * Evaluates runs: steps ended, dependents released or skipped, runs ended; and the sweep that
 * catches up.
 */

import { conditionHolds, UNFINISHED_STATUSES } from "@workflow/work";
import type { ObjectId } from "../../store/ids.js";
import type { RunEvent, RunStep, StepCounts, StepOutcome, WorkDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { growStep, skipLostLines } from "./fanout.js";
import { endRun, finishRun } from "./finish.js";
import { EVALUATION_SECONDS, LeaseLost, MAX_ROUNDS, RunLease } from "./lease.js";
import { finishMerge, type MergingRun } from "./merge-finish.js";
import { runRoom } from "./room.js";
import { overdue, timeOut } from "./timeout.js";
import { chainOf, linesMayStart, unblock } from "./unblock.js";

/** A run still being created this long after it began was cut short by a crash. */
const ABANDONED_SECONDS = 600;
const ABANDONED =
  "the service stopped while creating this run (its request was never answered): its works are cancelled";

/**
 * Re-evaluates the runs of works that just changed, in the same request: steps whose works all
 * ended get their outcome, dependents whose needs are all met are released (or skipped), and a run
 * whose steps all ended ends. Several instances may call it at once: an evaluation holds the run's
 * lock, and one that finds it held marks the run so that the holder evaluates once more. Each
 * evaluation is bounded (see ./lease.ts); none is started past `until` (unix seconds).
 */
export async function releaseRuns(
  ctx: ServiceContext,
  ids: Iterable<ObjectId>,
  until = Number.POSITIVE_INFINITY,
): Promise<void> {
  const seen = new Set<string>();
  for (const id of ids) {
    if (ctx.now() > until) return;
    if (seen.has(id.toHexString())) continue;
    seen.add(id.toHexString());
    try {
      await releaseRun(ctx, id);
    } catch (error) {
      // The outcome that led here is recorded: a failed release must not fail its request. The
      // run's lock lapses, and the reaper's sweep evaluates it again.
      ctx.events.emit("task:error", "release", error);
    }
  }
}

/** The runs of some works (those that belong to one), for `releaseRuns`. */
export function runsOf(docs: (Pick<WorkDoc, "run"> | null | undefined)[]): ObjectId[] {
  return docs.flatMap((doc) => (doc?.run ? [doc.run] : []));
}

async function releaseRun(ctx: ServiceContext, id: ObjectId): Promise<void> {
  const { runs } = ctx.store;
  for (let tries = 0; tries < 2; tries++) {
    const lockId = await runs.lock(id, ctx.now());
    if (lockId) {
      await holding(ctx, new RunLease(ctx, id, lockId));
      return;
    }
    // The holder may have read the run before our change: it evaluates again before unlocking.
    await runs.markDirty(id);
  }
}

/** Evaluates a run while its lease lasts: again while writers mark it dirty, a few times at most. */
async function holding(ctx: ServiceContext, lease: RunLease): Promise<void> {
  const { runs } = ctx.store;
  const rounds = async () => {
    for (let round = 1; ; round++) {
      await evaluate(ctx, lease);
      const left = await runs.unlock(lease.run, lease.lockId);
      if (left === "unlocked") return;
      if (left === "lost") throw lease.lost();
      if (round === MAX_ROUNDS || lease.expired) {
        // Left dirty: the sweep evaluates the run again.
        await runs.letGo(lease.run, lease.lockId);
        return;
      }
    }
  };
  try {
    await lease.bound(rounds());
  } catch (error) {
    if (!(error instanceof LeaseLost)) throw error;
    ctx.logger.warn({ run: lease.run.toHexString() }, error.message);
    // Stopped between two writes, not in the middle of one: the lock may go now, if still ours.
    if (!lease.abandoned) await runs.letGo(lease.run, lease.lockId);
  }
}

/** Runs every running run nobody evaluated this pass: repairs a release a crash interrupted. */
export async function sweepRuns(ctx: ServiceContext, limit = 100): Promise<number> {
  const now = ctx.now();
  for (const run of await ctx.store.runs.abandoned(now - ABANDONED_SECONDS, limit)) {
    if (await endRun(ctx, run, "cancelled", now, ABANDONED)) {
      await ctx.store.runWorks.cancel(run, now);
    }
  }
  const stale = await ctx.store.runs.stale(now, limit);
  // A slow MongoDB makes each evaluation slow: the reaper's other work must not wait on 100.
  await releaseRuns(ctx, stale, now + EVALUATION_SECONDS);
  return stale.length;
}

function outcomeOf(counts: StepCounts | undefined, works: number): StepOutcome | undefined {
  const c = counts?.byStatus ?? {};
  // A failure with a retry to come is counted apart, in `retrying`.
  const unfinished =
    UNFINISHED_STATUSES.reduce((n, s) => n + (c[s] ?? 0), 0) + (counts?.retrying ?? 0);
  if (unfinished > 0) return undefined;
  if ((c.success ?? 0) === works) return "success";
  if ((c.skipped ?? 0) === works) return "skipped";
  // Stopped by someone rather than failed (fail-fast cancels only after a failure).
  if ((c.cancelled ?? 0) > 0 && (c.failure ?? 0) === 0) return "cancelled";
  return "failure";
}

const ENDED: Record<StepOutcome, string> = {
  success: "step succeeded",
  failure: "step failed",
  skipped: "step skipped",
  cancelled: "step cancelled",
};

/** Whether a step it needs, or one those need, ended with `outcome`. */
function endedUpstream(step: RunStep, byName: Map<string, RunStep>, outcome: StepOutcome): boolean {
  return step.needs.some((name) => {
    const need = byName.get(name) as RunStep;
    return need.outcome === outcome || endedUpstream(need, byName, outcome);
  });
}

function holds(step: RunStep, byName: Map<string, RunStep>): boolean {
  // A step `from` another runs the lines that succeeded up its chain (./fanout.ts skips the
  // others, and some may have run already: ./unblock.ts).
  const chain = chainOf(step, byName);
  return conditionHolds(step.if, {
    result: (name) => byName.get(name)?.outcome ?? "skipped",
    allSucceeded: step.needs.every((name) => {
      const outcome = byName.get(name)?.outcome;
      const stopped = outcome === "failure" || outcome === "cancelled";
      return outcome === "success" || (stopped && chain.has(name));
    }),
    failedUpstream: endedUpstream(step, byName, "failure"),
    cancelledUpstream: endedUpstream(step, byName, "cancelled"),
  });
}

async function evaluate(ctx: ServiceContext, lease: RunLease): Promise<void> {
  const id = lease.run;
  const run = await ctx.store.runs.get(id);
  // A run whose works are still being stored would see steps without works as failed; one being
  // rerun would see its works' old outcomes and end again at once.
  if (run?.status !== "running" || run.creating || run.rerunning) return;
  if (run.merging) {
    // Holding the lock, this evaluation knows the merger is gone: it finishes the merge, and
    // evaluates the merged run in its next round.
    // One whose works may still be being stored is left for a later sweep.
    if ((await finishMerge(ctx, lease, run as MergingRun)) === "done") {
      await ctx.store.runs.markDirty(id);
    }
    return;
  }
  const now = ctx.now();
  if (overdue(run, now)) return timeOut(ctx, lease, run);
  const counts = await ctx.store.runWorks.counts(run);
  const steps = run.steps.map((s) => ({ ...s }));
  const byName = new Map(steps.map((s) => [s.name, s]));
  const events: RunEvent[] = [];
  for (const step of steps) {
    if (!step.released || step.outcome) continue;
    const c = counts.get(step.name);
    if (step.failFast && (c?.byStatus.failure ?? 0) > (c?.retrying ?? 0)) {
      await lease.check();
      await ctx.store.runWorks.cancel(run, now, step.name);
      const fresh = await ctx.store.runWorks.counts(run);
      const updated = fresh.get(step.name);
      if (updated) counts.set(step.name, updated);
    }
    const outcome = outcomeOf(counts.get(step.name), step.works);
    if (outcome) {
      step.outcome = outcome;
      events.push({ at: now, kind: ENDED[outcome], step: step.name });
    }
  }
  // Each decision may settle another (a skip cascades), so go round until nothing changes.
  const fresh = new Set<string>();
  const evaluation = { ctx, lease, run, byName, events };
  for (let changed = true; changed; ) {
    changed = false;
    for (const step of steps) {
      if (step.released) continue;
      if (!step.needs.every((name) => byName.get(name)?.outcome)) continue;
      step.released = true;
      changed = true;
      if (holds(step, byName)) {
        events.push({ at: now, kind: "step started", step: step.name });
        // Made now with their first works queued: counted from the next evaluation on.
        if (step.growth && !step.grown) await growStep(evaluation, step);
        else {
          await skipLostLines(evaluation, step);
          fresh.add(step.name);
        }
      } else {
        await lease.check();
        await ctx.store.runWorks.skip(run, step.name, now);
        step.outcome = "skipped";
        events.push({ at: now, kind: "step skipped", step: step.name });
      }
    }
  }
  // Paused, or over the run's max-parallel: none of its works is queued (see ./pause.ts).
  let left = await runRoom(ctx, lease, run, counts);
  for (const step of steps) {
    if (!(step.released || linesMayStart(step, byName)) || step.outcome || left <= 0) continue;
    const c = counts.get(step.name)?.byStatus ?? {};
    // Counted from the works, not from whether the step is new: a release whose save failed left
    // its works queued, and the next evaluation sees the step new again.
    const active = (c.queued ?? 0) + (c.running ?? 0);
    const room = Math.min(left, step.maxParallel ? step.maxParallel - active : step.works);
    if (room <= 0) continue;
    if (!step.released) {
      // Not released yet: each line starts as its own work of the step it runs from succeeds.
      if ((c.waiting ?? 0) > 0) {
        left -= await unblock(ctx, lease, run, step, byName, room, events, true);
      }
    } else if (fresh.has(step.name) || (c.waiting ?? 0) > 0) {
      left -= await unblock(ctx, lease, run, step, byName, room, events);
    }
  }
  // Works skipped or reused here may end their step: look again before letting go of the run.
  if (events.some((e) => e.kind === "works skipped" || e.kind === "works reused")) {
    await ctx.store.runs.markDirty(id);
  }
  const ended = steps.every((s) => s.outcome);
  // Fenced by the lock token: an evaluation that lost its lock saves nothing.
  const saved = await ctx.store.runs.save(id, lease.lockId, { steps, checked: now }, events);
  if (saved && ended) await finishRun(ctx, { ...run, steps }, now);
}
