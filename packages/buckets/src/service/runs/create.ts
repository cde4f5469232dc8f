/** Creating a run: the config checked and planned, its works stored, its first steps released. */

import {
  CreateRunSchema,
  PipelineConfigError,
  parseConfigText,
  planRun,
  type RunCheck,
  type RunPlan,
  releaseTime,
  runsByHand,
  type Slack,
  withoutStrategy,
} from "@workflow/work";
import { requireOwner, requirePipeline, requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { invalid } from "../../errors.js";
import { TRANSITIONS } from "../../machine.js";
import { RUN_TRANSITIONS } from "../../run-machine.js";
import { freshObjectId, type ObjectId, type RunDoc, type WorkDoc } from "../../store/index.js";
import { keyAndReuse } from "../cache.js";
import type { ServiceContext } from "../context.js";
import { requireSite } from "../sites.js";
import { parseWith } from "../validate.js";
import { policyOf, requireCallbackTarget } from "./callback-target.js";
import { releaseRuns } from "./release.js";
import { runStepOf } from "./run-steps.js";

/** A release this far in the past is a mistake, not a run for now. */
const AT_PAST_SECONDS = 60;

/** Checks a config and expands it, with the caller as the default user. */
export function plan(
  principal: Principal,
  config: unknown,
  params?: Record<string, unknown>,
  release?: number,
) {
  try {
    const raw = typeof config === "string" ? parseConfigText(config) : config;
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new PipelineConfigError("config: must be a mapping with version, name and pipeline");
    }
    const given = raw as Record<string, unknown>;
    const defaults = { user: principal.sub, ...(given.defaults as object | undefined) };
    return planRun({ ...given, defaults }, params, release);
  } catch (error) {
    if (error instanceof PipelineConfigError) throw invalid(error.message, error.details);
    throw error;
  }
}

/**
 * POST /runs?dry_run=true (`workflow pipeline run --dry-run`): every check a run passes before it
 * is stored (the caller's user, pipelines and sites, one user, the callback's target, Slack),
 * without storing anything.
 */
export async function checkRun(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<RunCheck> {
  const { planned, docs, later, users } = await prepare(ctx, principal, body, ctx.now(), "runs");
  return {
    name: planned.name,
    user: users[0] as string,
    pipelines: [...new Set([...docs, ...later].map((d) => d.pipeline))].sort(),
    works: docs.length,
  };
}

/** Everything POST /runs checks before it writes: what its preview checks too. */
export async function prepare(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  now: number,
  source: RunSource,
  tick?: number,
) {
  requireScope(principal, "work:deposit");
  const { config, params, at } = parseWith(CreateRunSchema, body, "body");
  if (at !== undefined && at < now - AT_PAST_SECONDS) {
    throw invalid(
      `at: ${releaseTime(at)} is in the past; leave at out (and --at) to start the run now`,
    );
  }
  const planned = plan(principal, config, params, at ?? tick ?? now);
  if (source !== "schedules" && !runsByHand(planned.config.on)) {
    throw invalid(
      `config "${planned.name}": its on: has no {manual: true}, so it runs only on its schedule; deploy it (workflow pipeline deploy) or add {manual: true} to on`,
    );
  }
  const runId = freshObjectId();
  const docs = planned.steps.flatMap((step) => worksOf(ctx, principal, step, runId, now, at ?? 0));
  capQueued(docs, planned.maxParallel);
  const later = planned.steps.flatMap((s) => (s.growth ? [checkGrowth(ctx, principal, s)] : []));
  const users = [...new Set([...docs, ...later].map((d) => d.user))];
  if (users.length > 1) {
    throw invalid(
      `a run belongs to one user; its works name ${users.join(", ")}: set defaults.user`,
    );
  }
  if (planned.config.callback) {
    await requireCallbackTarget(policyOf(ctx), planned.config.callback);
  }
  const slack = slackOf(ctx, planned.config);
  return { planned, at, runId, docs, later, users, slack };
}

type RunSource = "runs" | "configs" | "schedules";

/**
 * POST /runs: stores the run and all its works at once. Works of steps that wait are stored
 * `waiting`, which no claim matches; the first steps' works are queued (max-parallel at a time).
 */
export async function createRun(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  source: RunSource = "runs",
  /** The tick a schedule fires for. */
  tick?: number,
): Promise<{ id: string; works: string[]; run: RunDoc }> {
  const now = ctx.now();
  const { planned, at, runId, docs, later, users, slack } = await prepare(
    ctx,
    principal,
    body,
    now,
    source,
    tick,
  );
  const steps = planned.steps.map((s) => runStepOf(planned, s, s.needs.length === 0));
  const run: RunDoc = {
    _id: runId,
    name: planned.name,
    user: users[0] as string,
    pipelines: [...new Set([...docs, ...later].map((d) => d.pipeline))].sort(),
    status: RUN_TRANSITIONS.start.to,
    created: now,
    params: planned.params,
    config: planned.config as unknown as Record<string, unknown>,
    steps,
    events: [
      {
        at: now,
        kind: "submitted",
        ...(source === "configs" ? { detail: "configs API" } : {}),
        ...(at === undefined ? {} : { detail: `released at ${releaseTime(at)}` }),
      },
      ...steps
        .filter((s) => s.released)
        .map((s) => ({ at: now, kind: "step started", step: s.name })),
    ],
    checked: now,
    creating: true,
    ...(planned.timeout === undefined ? {} : { deadline: now + planned.timeout }),
    ...(planned.maxParallel === undefined ? {} : { maxParallel: planned.maxParallel }),
  };
  if (planned.config.callback) run.callback = { url: planned.config.callback, attempts: 0 };
  if (slack) run.slack = { target: slack, attempts: 0 };
  const queued = docs.filter((d) => d.status === TRANSITIONS.deposit.to);
  await keyAndReuse(
    ctx,
    queued.map((doc) => ({ work: doc, into: doc })),
  );
  for (const step of steps) {
    const reused = queued.filter((d) => d.cached && d.step === step.name).length;
    if (reused > 0)
      run.events.push({ at: now, kind: "works reused", step: step.name, detail: `${reused}` });
  }
  await ctx.store.runs.insert(run);
  try {
    await ctx.store.deposit(docs);
  } catch (error) {
    // Nothing of a refused run stays: its works and the run go.
    await ctx.store.runWorks.cancel(run, now).catch(() => undefined);
    await ctx.store.runs.remove(runId).catch(() => undefined);
    throw error;
  }
  await ctx.store.runs.created(runId);
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued", [...new Set(docs.map((doc) => doc.pipeline))]);
  // Works that ended while the others were stored were not evaluated: their run is, now.
  await releaseRuns(ctx, [runId]);
  return { id: runId.toHexString(), works: docs.map((d) => d._id.toHexString()), run };
}

/** Where the run's one Slack message goes, if anywhere; refused when this service cannot post. */
export function slackOf(ctx: ServiceContext, config: RunPlan["config"]): Slack | undefined {
  const slack = config.notify?.slack;
  if (!slack?.channel_id && !slack?.member_ids?.length) return undefined;
  if (!ctx.slack) {
    throw invalid(
      "notify.slack: this service cannot post to Slack (its operator has not set BUCKETS_SLACK_TOKEN); remove notify.slack or ask them to set it",
    );
  }
  return slack;
}

/** The run's top-level max-parallel: its first works are queued, the rest wait their turn. */
function capQueued(docs: WorkDoc[], maxParallel: number | undefined): void {
  if (maxParallel === undefined) return;
  let queued = 0;
  for (const doc of docs) {
    if (doc.status !== TRANSITIONS.deposit.to) continue;
    if (++queued > maxParallel) doc.status = "waiting";
  }
}

export function worksOf(
  ctx: ServiceContext,
  principal: Principal,
  step: RunPlan["steps"][number],
  run: ObjectId,
  received: number,
  /** Not claimed before this: a run released later. */
  at: number,
): WorkDoc[] {
  const waits = step.needs.length > 0;
  return step.works.map((p) => {
    const where = `step "${step.name}"`;
    requireOwner(principal, p.work.user, `${where} (user "${p.work.user}")`);
    requirePipeline(principal, p.work.pipeline);
    requireSite(ctx, p.work.site, where);
    // A root step with max-parallel queues only its first works; the rest wait their turn.
    const queued = !waits && (step.maxParallel === undefined || p.index < step.maxParallel);
    const { id: _id, config, notBefore, ...work } = p.work;
    const doc: WorkDoc = {
      ...work,
      _id: freshObjectId(),
      config: { ...withoutStrategy(config), parent: config.parent ?? run.toHexString() },
      status: queued ? TRANSITIONS.deposit.to : "waiting",
      attempt: 0,
      notBefore: Math.max(notBefore ?? 0, at),
      received,
      run,
      step: step.name,
      index: p.index,
    };
    if (Object.keys(p.matrix).length > 0) doc.matrix = p.matrix;
    if (p.template) doc.template = p.template;
    if (p.origins) doc.origins = p.origins;
    return doc;
  });
}

/** The works a step makes at run time share its template's user, pipeline and site: checked now. */
export function checkGrowth(
  ctx: ServiceContext,
  principal: Principal,
  step: RunPlan["steps"][number],
) {
  const work = step.growth?.work as RunPlan["steps"][number]["works"][number]["work"];
  const where = `step "${step.name}"`;
  requireOwner(principal, work.user, `${where} (user "${work.user}")`);
  requirePipeline(principal, work.pipeline);
  requireSite(ctx, work.site, where);
  return work;
}
