/** A step's works made from its parents: their results read, fields filled, fan-outs grown. */

import {
  FreeObjectSchema,
  fill,
  formatIssues,
  type Growth,
  growWorks,
  MAX_RUN_WORKS,
  needsResolver,
  type Parent,
  withoutStrategy,
} from "@workflow/work";
import { TRANSITIONS } from "../../machine.js";
import {
  freshObjectId,
  type RunDoc,
  type RunEvent,
  type RunRef,
  type RunStep,
  refusedDocuments,
  type WorkDoc,
} from "../../store/index.js";
import { keyAndReuse, lineParents, parentDigests } from "../cache.js";
import type { ServiceContext } from "../context.js";
import type { RunLease } from "./lease.js";

/** The most a released work's filled fields may weigh, as JSON: MongoDB stores 16 MB a work. */
export const MAX_FILLED_BYTES = 12 * 1024 * 1024;

/**
 * The parents' works a step reads, in matrix order: their results (unless `withResults` is false),
 * combinations and origins; the digests of the needed steps, which its works' keys are made of
 * (../cache.ts), and each work's own (`lines`) for a step `from` another. With `only`, of the
 * steps it names only the works of those indexes are read (the lines being released).
 */
export async function parentsOf(
  ctx: ServiceContext,
  run: RunRef,
  step: RunStep,
  byName: Map<string, RunStep>,
  withResults = true,
  only?: Map<string, number[]>,
): Promise<{
  parents: Map<string, Parent>;
  digests: string[];
  lines: ReturnType<typeof lineParents>;
}> {
  const parents = new Map<string, Parent>();
  if (step.needs.length === 0) return { parents, digests: [], lines: () => undefined };
  const rows = await ctx.store.runWorks.results(run, step.needs, withResults, only);
  for (const name of step.needs) {
    parents.set(name, { matrix: byName.get(name)?.matrix ?? false, works: [] });
  }
  for (const row of rows) {
    const works = parents.get(row.step as string)?.works;
    if (!works) continue;
    // By index: `only` reads some works of a step, and a work reads its own by its origin.
    works[row.index ?? works.length] = {
      status: row.status,
      results: row.results ?? null,
      ...(row.matrix ? { combination: row.matrix } : {}),
      ...(row.origins ? { origins: row.origins } : {}),
    };
  }
  const keyed = rows.map((r) => ({
    step: r.step,
    index: r.index,
    key: r.key,
    digests: r.archive?.digests,
  }));
  return {
    parents,
    digests: parentDigests(step.needs, keyed),
    lines: lineParents(step.needs, keyed),
  };
}

/**
 * A templated work's fields as its release fills them from its parents' works (for a step `from`
 * another, from its own line's work alone): the one filling of releases, fan-outs and previews.
 */
export function fillTemplate(
  template: Record<string, unknown>,
  parents: Map<string, Parent>,
  origins: Record<string, number> | undefined,
): Partial<WorkDoc> {
  return filledFields(fill(template, needsResolver(parents, origins)) as Record<string, unknown>);
}

/** The fields a filled template sets on its work; a command's items stay strings. */
function filledFields(filled: Record<string, unknown>): Partial<WorkDoc> {
  const set: Partial<WorkDoc> = {};
  if (filled.parameters !== undefined) set.parameters = filled.parameters as WorkDoc["parameters"];
  if (Array.isArray(filled.command)) {
    // A filled number or list is written as JSON.
    set.command = filled.command.map((item) =>
      typeof item === "string" ? item : JSON.stringify(item),
    );
  }
  return set;
}

/** One evaluation of a run, as its release decides each step: what the decisions read and add to. */
export interface Evaluation {
  ctx: ServiceContext;
  lease: RunLease;
  run: RunDoc;
  byName: Map<string, RunStep>;
  events: RunEvent[];
}

/**
 * Makes the works of a step that grows, now that its needs ended, in one write: its first
 * `max-parallel` queued, the rest waiting their turn. A list that is not one, a run that would hold
 * too many works, or works MongoDB refuses fail the step, saying why; nothing of it stays. Works
 * left by an evaluation cut short before it saved go first, so a step is never made twice.
 */
export async function growStep(evaluation: Evaluation, step: RunStep): Promise<void> {
  const { ctx, lease, run, byName, events } = evaluation;
  const now = ctx.now();
  const growth = step.growth as Growth;
  const fail = (problem: string) => {
    Object.assign(step, { works: 0, grown: true, outcome: "failure" });
    events.push({ at: now, kind: "step failed", step: step.name, detail: problem });
  };
  const { parents, digests, lines } = await parentsOf(ctx, run, step, byName);
  let others = 0;
  for (const s of byName.values()) if (s.name !== step.name) others += s.works;
  const grown = growWorks(growth, parents, Math.max(0, MAX_RUN_WORKS - others));
  if ("problem" in grown) return fail(`step "${step.name}": ${grown.problem}`);
  const { id: _id, config, notBefore: _n, ...work } = growth.work;
  const queued = step.maxParallel ?? Number.POSITIVE_INFINITY;
  const docs: WorkDoc[] = [];
  let lost = 0;
  for (const g of grown.works) {
    // Filled once, by growWorks: filled again, a result reading `${{ ... }}` would be read as one.
    const set = filledFields(g.template);
    // Results were checked as results; filled into parameters they may nest deeper than a work may.
    const free = FreeObjectSchema.safeParse(set.parameters ?? {});
    if (!free.success) {
      return fail(
        `step "${step.name}": work ${g.index}: parameters ${formatIssues(free.error.issues)}`,
      );
    }
    if (JSON.stringify(set).length > MAX_FILLED_BYTES) {
      return fail(
        `step "${step.name}": work ${g.index}: its parameters filled from the parents' results would exceed ${MAX_FILLED_BYTES / 1024 / 1024} MB; pass a smaller part of the results (a deeper path)`,
      );
    }
    const doc: WorkDoc = {
      ...work,
      ...set,
      _id: freshObjectId(),
      config: { ...withoutStrategy(config), parent: config.parent ?? run._id.toHexString() },
      status: g.index < queued ? TRANSITIONS.deposit.to : "waiting",
      ...(lineLost(step, parents, g.origins) ? { status: TRANSITIONS.skip.to, stop: now } : {}),
      attempt: 0,
      notBefore: 0,
      received: now,
      run: run._id,
      step: step.name,
      index: g.index,
    };
    if (Object.keys(g.combination).length > 0) doc.matrix = g.combination;
    if (g.origins) doc.origins = g.origins;
    if (doc.status === TRANSITIONS.skip.to) lost++;
    // No template kept: its needs have ended, and a rerun that changes them makes the step again.
    docs.push(doc);
  }
  // Made queued, they are queued as any release is: keyed, and answered from the cache if they may.
  const queuedNow = docs.filter((d) => d.status === TRANSITIONS.deposit.to);
  const reused = await keyAndReuse(
    ctx,
    queuedNow.map((doc) => ({ work: doc, into: doc, parents: lines(doc.origins) })),
    digests,
  );
  await lease.check();
  if (!run.pipelines.includes(work.pipeline)) {
    // Its works are found on the run's pipelines' shards. A run records its growths' pipelines as
    // it is created or merged; one stored before it did gets this one now, before its works.
    run.pipelines = await ctx.store.runs.addPipelines(run._id, [work.pipeline]);
  }
  await ctx.store.runWorks.removeStep(run, step.name);
  try {
    await ctx.store.deposit(docs);
  } catch (error) {
    await ctx.store.runWorks.removeStep(run, step.name).catch(() => undefined);
    if (!refusedDocuments(error)) throw error;
    return fail(
      `step "${step.name}": its ${docs.length} works could not be stored: ${(error as Error).message}`,
    );
  }
  Object.assign(step, { works: docs.length, grown: true });
  events.push({
    at: now,
    kind: "works created",
    step: step.name,
    detail: `${docs.length} works from ${growth.sources.join(", ") || `each work of ${growth.matrix.from}`}`,
  });
  if (lost > 0) events.push(lostEvent(step, lost, now));
  if (reused > 0)
    events.push({ at: now, kind: "works reused", step: step.name, detail: `${reused}` });
  if (docs.length === 0) {
    step.outcome = "success";
    events.push({ at: now, kind: "step succeeded", step: step.name, detail: "no works" });
    return;
  }
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued", [work.pipeline]);
}

/** Whether a work's own line through `matrix.from` failed: its work of that step did not succeed. */
function lineLost(
  step: RunStep,
  parents: Map<string, Parent>,
  origins: Record<string, number> | undefined,
): boolean {
  const origin = step.from === undefined ? undefined : origins?.[step.from];
  if (origin === undefined || step.from === undefined) return false;
  return parents.get(step.from)?.works[origin]?.status !== "success";
}

const lostEvent = (step: RunStep, n: number, at: number): RunEvent => ({
  at,
  kind: "works skipped",
  step: step.name,
  detail: `${n} works: their own work of ${step.from} did not succeed (the other combinations carry on)`,
});

/**
 * A step `from` another runs when that step ends even if some of its works failed or were
 * cancelled: the works of the lines that did not succeed are skipped, all at once, when it is
 * released.
 */
export async function skipLostLines(evaluation: Evaluation, step: RunStep): Promise<void> {
  const { ctx, lease, run, byName, events } = evaluation;
  const outcome = step.from === undefined ? undefined : byName.get(step.from)?.outcome;
  if (outcome !== "failure" && outcome !== "cancelled") return;
  const { parents } = await parentsOf(ctx, run, step, byName);
  const waiting = await ctx.store.runWorks.waiting(run, step.name, step.works);
  const lost = waiting.filter((w) => lineLost(step, parents, w.origins)).map((w) => w._id);
  if (lost.length === 0) return;
  await lease.check();
  await ctx.store.runWorks.skipIds(run, lost, ctx.now());
  events.push(lostEvent(step, lost.length, ctx.now()));
}
