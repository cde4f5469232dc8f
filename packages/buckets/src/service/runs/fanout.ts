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
  type ObjectId,
  type RunDoc,
  type RunEvent,
  type RunStep,
  refusedDocuments,
  type WorkDoc,
} from "../../store/index.js";
import { keyAndReuse, parentDigests } from "../cache.js";
import type { ServiceContext } from "../context.js";
import type { RunLease } from "./lease.js";

/** The most a released work's filled fields may weigh, as JSON: MongoDB stores 16 MB a work. */
export const MAX_FILLED_BYTES = 12 * 1024 * 1024;

/**
 * The parents' works a step reads, in matrix order: their results (unless `withResults` is false),
 * combinations and origins; and the digests of the needed steps, which its works' keys are made of
 * (../cache.ts).
 */
export async function parentsOf(
  ctx: ServiceContext,
  run: ObjectId,
  step: RunStep,
  byName: Map<string, RunStep>,
  withResults = true,
): Promise<{ parents: Map<string, Parent>; digests: string[] }> {
  const parents = new Map<string, Parent>();
  if (step.needs.length === 0) return { parents, digests: [] };
  const rows = await ctx.store.runWorks.results(run, step.needs, withResults);
  for (const name of step.needs) {
    parents.set(name, { matrix: byName.get(name)?.matrix ?? false, works: [] });
  }
  for (const row of rows) {
    parents.get(row.step as string)?.works.push({
      status: row.status,
      results: row.results ?? null,
      ...(row.combination ? { combination: row.combination } : {}),
      ...(row.origins ? { origins: row.origins } : {}),
    });
  }
  const digests = parentDigests(
    step.needs,
    rows.map((r) => ({ step: r.step, key: r.key, digests: r.archive?.digests })),
  );
  return { parents, digests };
}

/** The fields a filled template sets on its work; a command's items stay strings. */
export function filledFields(filled: Record<string, unknown>): Partial<WorkDoc> {
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

/**
 * Makes the works of a step that grows, now that its needs ended, in one write: its first
 * `max-parallel` queued, the rest waiting their turn. A list that is not one, a run that would hold
 * too many works, or works MongoDB refuses fail the step, saying why; nothing of it stays. Works
 * left by an evaluation cut short before it saved go first, so a step is never made twice.
 */
export async function growStep(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  step: RunStep,
  byName: Map<string, RunStep>,
  events: RunEvent[],
): Promise<void> {
  const now = ctx.now();
  const growth = step.growth as Growth;
  const fail = (problem: string) => {
    Object.assign(step, { works: 0, grown: true, outcome: "failure" });
    events.push({ at: now, kind: "step failed", step: step.name, detail: problem });
  };
  const { parents, digests } = await parentsOf(ctx, run._id, step, byName);
  let others = 0;
  for (const s of byName.values()) if (s.name !== step.name) others += s.works;
  const grown = growWorks(growth, parents, Math.max(0, MAX_RUN_WORKS - others));
  if ("problem" in grown) return fail(`step "${step.name}": ${grown.problem}`);
  const { id: _id, config, notBefore: _n, ...work } = growth.work;
  const queued = step.maxParallel ?? Number.POSITIVE_INFINITY;
  const docs: WorkDoc[] = [];
  let lost = 0;
  for (const g of grown.works) {
    const set = filledFields(fill(g.template, needsResolver(parents, g.origins)) as never);
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
      combination: g.combination,
    };
    if (g.origins) doc.origins = g.origins;
    if (doc.status === TRANSITIONS.skip.to) lost++;
    if (Object.keys(g.template).length > 0) doc.template = g.template;
    docs.push(doc);
  }
  // Made queued, they are queued as any release is: keyed, and answered from the cache if they may.
  const queuedNow = docs.filter((d) => d.status === TRANSITIONS.deposit.to);
  const reused = await keyAndReuse(
    ctx,
    queuedNow.map((doc) => ({ work: doc, into: doc })),
    digests,
  );
  await lease.check();
  await ctx.store.runWorks.removeStep(run._id, step.name);
  try {
    await ctx.store.deposit(docs);
  } catch (error) {
    await ctx.store.runWorks.removeStep(run._id, step.name).catch(() => undefined);
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
 * A step `from` another runs when that step ends even if some of its works failed: the works of
 * the lines that failed are skipped, all at once, when it is released.
 */
export async function skipLostLines(
  ctx: ServiceContext,
  lease: RunLease,
  run: RunDoc,
  step: RunStep,
  byName: Map<string, RunStep>,
  events: RunEvent[],
): Promise<void> {
  if (step.from === undefined || byName.get(step.from)?.outcome !== "failure") return;
  const { parents } = await parentsOf(ctx, run._id, step, byName);
  const waiting = await ctx.store.runWorks.waiting(run._id, step.name, step.works);
  const lost = waiting.filter((w) => lineLost(step, parents, w.origins)).map((w) => w._id);
  if (lost.length === 0) return;
  await lease.check();
  await ctx.store.runWorks.skipIds(lost, ctx.now());
  events.push(lostEvent(step, lost.length, ctx.now()));
}
