import { conditionHolds, fill, needsResolver, UNFINISHED_STATUSES } from "@workflow/work";
import type { ObjectId } from "../../store/ids.js";
import type {
  RunDoc,
  RunEvent,
  RunStep,
  StepCounts,
  StepOutcome,
  Unblock,
  WorkDoc,
} from "../../store/index.js";
import { keyAndReuse } from "../cache.js";
import type { ServiceContext } from "../context.js";
import { filledFields, growStep, MAX_FILLED_BYTES, parentsOf, skipLostLines } from "./fanout.js";
import { endRun, finishRun } from "./finish.js";
import { EVALUATION_SECONDS, LeaseLost, MAX_ROUNDS, RunLease } from "./lease.js";
import { runRoom } from "./room.js";
import { overdue, timeOut } from "./timeout.js";

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
      await ctx.store.runWorks.cancel(run._id, now);
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
  return "failure";
}

/** Whether a step it needs, or one those need, ended with `outcome`. */
function endedUpstream(step: RunStep, byName: Map<string, RunStep>, outcome: StepOutcome): boolean {
  return step.needs.some((name) => {
    const need = byName.get(name) as RunStep;
    return need.outcome === outcome || endedUpstream(need, byName, outcome);
  });
}

function holds(step: RunStep, byName: Map<string, RunStep>): boolean {
  // A step `from` another runs the lines that succeeded (./fanout.ts skips the others).
  return conditionHolds(step.if, {
    result: (name) => byName.get(name)?.outcome ?? "skipped",
    allSucceeded: step.needs.every((name) => {
      const outcome = byName.get(name)?.outcome;
      return outcome === "success" || (outcome === "failure" && name === step.from);
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
  const now = ctx.now();
  if (overdue(run, now)) return timeOut(ctx, lease, run);
  const counts = await ctx.store.runWorks.counts(id);
  const steps = run.steps.map((s) => ({ ...s }));
  const byName = new Map(steps.map((s) => [s.name, s]));
  const events: RunEvent[] = [];
  for (const step of steps) {
    if (!step.released || step.outcome) continue;
    const c = counts.get(step.name);
    if (step.failFast && (c?.byStatus.failure ?? 0) > (c?.retrying ?? 0)) {
      await lease.check();
      await ctx.store.runWorks.cancel(id, now, step.name);
      const fresh = await ctx.store.runWorks.counts(id);
      const updated = fresh.get(step.name);
      if (updated) counts.set(step.name, updated);
    }
    const outcome = outcomeOf(counts.get(step.name), step.works);
    if (outcome) {
      step.outcome = outcome;
      events.push({
        at: now,
        kind: `step ${outcome === "success" ? "succeeded" : "failed"}`,
        step: step.name,
      });
    }
  }
  // Each decision may settle another (a skip cascades), so go round until nothing changes.
  const fresh = new Set<string>();
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
        if (step.growth && !step.grown) await growStep(ctx, lease, run, step, byName, events);
        else {
          await skipLostLines(ctx, lease, run, step, byName, events);
          fresh.add(step.name);
        }
      } else {
        await lease.check();
        await ctx.store.runWorks.skip(id, step.name, now);
        step.outcome = "skipped";
        events.push({ at: now, kind: "step skipped", step: step.name });
      }
    }
  }
  // Paused, or over the run's max-parallel: none of its works is queued (see ./pause.ts).
  let left = await runRoom(ctx, lease, run, counts);
  for (const step of steps) {
    if (!step.released || step.outcome || left <= 0) continue;
    const c = counts.get(step.name)?.byStatus ?? {};
    // Counted from the works, not from whether the step is new: a release whose save failed left
    // its works queued, and the next evaluation sees the step new again.
    const active = (c.queued ?? 0) + (c.running ?? 0);
    const room = Math.min(left, step.maxParallel ? step.maxParallel - active : step.works);
    if (room > 0 && (fresh.has(step.name) || (c.waiting ?? 0) > 0)) {
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

/** Queues up to `room` waiting works of a step, in matrix order, filled from their needs. */
async function unblock(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  step: RunStep,
  byName: Map<string, RunStep>,
  room: number,
  events: RunEvent[],
): Promise<number> {
  const waiting = await ctx.store.runWorks.waiting(run._id, step.name, room);
  if (waiting.length === 0) return 0;
  const templated = waiting.some((w) => w.template);
  // Read even when nothing is templated: the parents' keys and digests make the works' keys.
  const { parents, digests } = await parentsOf(ctx, run._id, step, byName, templated);
  const releases: Unblock[] = waiting.map((work) => ({
    _id: work._id,
    pipeline: work.pipeline,
    set: work.template
      ? filledFields(fill(work.template, needsResolver(parents, work.origins)) as never)
      : {},
  }));
  const reused = await keyAndReuse(
    ctx,
    releases.map((r, i) => ({ work: { ...(waiting[i] as WorkDoc), ...r.set }, into: r.set })),
    digests,
  );
  if (reused > 0) noteReused(events, step.name, reused, ctx.now());
  // A work holds at most 16 MB in MongoDB: a fan-in of many large results cannot be stored.
  const tooLarge = releases.filter((r) => JSON.stringify(r.set).length > MAX_FILLED_BYTES);
  await lease.check();
  if (tooLarge.length > 0) {
    await ctx.store.runWorks.skipIds(
      tooLarge.map((r) => r._id),
      ctx.now(),
    );
    events.push({
      at: ctx.now(),
      kind: "works skipped",
      step: step.name,
      detail: `${tooLarge.length} works: their parameters filled from the parents' results would exceed ${MAX_FILLED_BYTES / 1024 / 1024} MB; pass a smaller part of the results (a deeper path)`,
    });
  }
  if (tooLarge.length > 0) await lease.check();
  const released = await ctx.store.runWorks.unblock(releases.filter((r) => !tooLarge.includes(r)));
  // Waiting workers hear of them now, not after the run's bookkeeping.
  if (released > 0) ctx.events.emit("work:queued");
  // Reused works took no room (they ended at once): as many more may go in this evaluation.
  if (reused > 0 && waiting.length === room) {
    return released + (await unblock(ctx, lease, run, step, byName, reused, events));
  }
  return released;
}

/** One event per step and evaluation, however many rounds of release reused its works. */
function noteReused(events: RunEvent[], step: string, n: number, at: number): void {
  const last = events.at(-1);
  if (last?.kind === "works reused" && last.step === step) {
    last.detail = `${Number(last.detail) + n}`;
  } else events.push({ at, kind: "works reused", step, detail: `${n}` });
}
