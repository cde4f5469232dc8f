/** Queuing a step's waiting works: filled from their needs, keyed, or answered from the cache. */

import { bareCondition } from "@workflow/work";
import type { RunDoc, RunEvent, RunStep, Unblock, WorkDoc } from "../../store/index.js";
import { keyAndReuse } from "../cache.js";
import type { ServiceContext } from "../context.js";
import { fillTemplate, MAX_FILLED_BYTES, parentsOf } from "./fanout.js";
import type { RunLease } from "./lease.js";

type Waiting = Awaited<ReturnType<ServiceContext["store"]["runWorks"]["waiting"]>>;

/**
 * Queues up to `room` waiting works of a step, in matrix order, filled from their needs. With
 * `linesOnly` (a step `from` another, not released yet: see linesMayStart), only those whose own
 * line's work of that step succeeded.
 */
export async function unblock(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  step: RunStep,
  byName: Map<string, RunStep>,
  room: number,
  events: RunEvent[],
  linesOnly = false,
): Promise<number> {
  let lines: { from: string; indexes: number[] } | undefined;
  if (linesOnly) {
    const from = step.from as string;
    const succeeded = await ctx.store.runWorks.succeeded(run, from);
    if (succeeded.length === 0) return 0;
    lines = { from, indexes: succeeded };
  }
  const waiting = await ctx.store.runWorks.waiting(run, step.name, room, lines);
  if (waiting.length === 0) return 0;
  const { released, reused } = await queue(ctx, lease, run, step, byName, waiting, events);
  // Reused works took no room (they ended at once): as many more may go in this evaluation.
  if (reused > 0 && waiting.length === room) {
    return released + (await unblock(ctx, lease, run, step, byName, reused, events, linesOnly));
  }
  return released;
}

/**
 * Whether the lines of a step `from` another may start before that step ends, each as its own work
 * of it succeeds: when the step asks only that its needs succeed (no other `if:`), and its other
 * needs did. Steps made at run time wait for the whole step, as they are made from it.
 */
export function linesMayStart(step: RunStep, byName: Map<string, RunStep>): boolean {
  if (step.released || step.outcome || step.from === undefined || step.growth) return false;
  if (bareCondition(step.if) !== "success()") return false;
  // Down a chain of such steps, lines start as soon as their own lines above do.
  const from = byName.get(step.from);
  if (!from || !(from.released || linesMayStart(from, byName))) return false;
  // A step up the chain is read by each line as its own line's work, which succeeded.
  const chain = chainOf(step, byName);
  return step.needs.every((n) => chain.has(n) || byName.get(n)?.outcome === "success");
}

/** The steps a step runs `from`, up the chain: each of its works has its own line's work in them. */
export function chainOf(step: RunStep, byName: Map<string, RunStep>): Set<string> {
  const chain = new Set<string>();
  for (let s: RunStep | undefined = step; s?.from !== undefined; s = byName.get(s.from)) {
    if (chain.has(s.from)) break;
    chain.add(s.from);
  }
  return chain;
}

/** Fills, keys and queues (or answers from the cache) some waiting works of a step. */
async function queue(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  step: RunStep,
  byName: Map<string, RunStep>,
  waiting: Waiting,
  events: RunEvent[],
): Promise<{ released: number; reused: number }> {
  const templated = waiting.some((w) => w.template);
  // A step `from` another reads, of each step its works' origins name, their own lines alone.
  const only = new Map<string, number[]>();
  for (const work of waiting) {
    for (const [name, index] of Object.entries(work.origins ?? {})) {
      if (!step.needs.includes(name)) continue;
      const indexes = only.get(name) ?? [];
      indexes.push(index);
      only.set(name, indexes);
    }
  }
  // Read even when nothing is templated: the parents' keys and digests make the works' keys.
  const { parents, digests, lines } = await parentsOf(ctx, run, step, byName, templated, only);
  const releases: Unblock[] = waiting.map((work) => ({
    _id: work._id,
    pipeline: work.pipeline,
    set: work.template ? fillTemplate(work.template, parents, work.origins) : {},
  }));
  const reused = await keyAndReuse(
    ctx,
    releases.map((r, i) => {
      const work = waiting[i] as WorkDoc;
      return { work: { ...work, ...r.set }, into: r.set, parents: lines(work.origins) };
    }),
    digests,
  );
  if (reused > 0) noteReused(events, step.name, reused, ctx.now());
  // A work holds at most 16 MB in MongoDB: a fan-in of many large results cannot be stored.
  const tooLarge = releases.filter((r) => JSON.stringify(r.set).length > MAX_FILLED_BYTES);
  await lease.check();
  if (tooLarge.length > 0) {
    await ctx.store.runWorks.skipIds(
      run,
      tooLarge.map((r) => r._id),
      ctx.now(),
    );
    events.push({
      at: ctx.now(),
      kind: "works skipped",
      step: step.name,
      detail: `${tooLarge.length} works: their parameters filled from the parents' results would exceed ${MAX_FILLED_BYTES / 1024 / 1024} MB; pass a smaller part of the results (a deeper path)`,
    });
    await lease.check();
  }
  const released = await ctx.store.runWorks.unblock(releases.filter((r) => !tooLarge.includes(r)));
  // Waiting workers hear of them now, not after the run's bookkeeping.
  if (released > 0) ctx.events.emit("work:queued");
  return { released, reused };
}

/** One event per step and evaluation, however many rounds of release reused its works. */
function noteReused(events: RunEvent[], step: string, n: number, at: number): void {
  const last = events.at(-1);
  if (last?.kind === "works reused" && last.step === step) {
    last.detail = `${Number(last.detail) + n}`;
  } else events.push({ at, kind: "works reused", step, detail: `${n}` });
}
