/** Managing schedules: add, list, get, enable, disable and remove, each by who may. */

import {
  ObjectIdSchema,
  SCHEDULE_NEXT_SHOWN,
  SCHEDULE_TICKS_SHOWN,
  type ScheduleDetail,
  type ScheduleRemoved,
  ScheduleSpecSchema,
  type ScheduleView,
} from "@workflow/work";
import { isAdmin, requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { notFound, refuse } from "../../errors.js";
import { freshObjectId, type ObjectId, toObjectId } from "../../store/ids.js";
import type { ScheduleDoc, ScheduleOwner } from "../../store/schedules.js";
import type { ServiceContext } from "../context.js";
import { canSee } from "../lifecycle.js";
import { parseWith } from "../validate.js";
import { fireTimes, nextAfter, parseCron } from "./cron.js";
import { checkTarget } from "./target.js";

/** The most schedules one listing answers. */
const LIST_LIMIT = 1000;

export function parseScheduleId(raw: unknown): ObjectId {
  return toObjectId(parseWith(ObjectIdSchema, raw, "schedule id"));
}

/** A schedule deposits with the rights of the token that created (or last resumed) it. */
function ownerOf(principal: Principal): ScheduleOwner {
  return {
    sub: principal.sub,
    scopes: principal.scopes,
    ...(principal.pipelines ? { pipelines: principal.pipelines } : {}),
    ...(principal.exp === undefined ? {} : { exp: principal.exp }),
  };
}

export function viewOf(doc: ScheduleDoc): ScheduleView {
  return {
    id: doc._id.toHexString(),
    user: doc.user,
    name: doc.name,
    cron: doc.cron,
    timezone: doc.timezone,
    target: doc.target,
    lives: doc.lives,
    missed: doc.missed,
    enabled: doc.enabled,
    pipelines: doc.pipelines,
    created: doc.created,
    nextRun: doc.nextRun,
    fired: doc.fired,
    done: doc.nextRun === null,
    ...(doc.pausedReason ? { pausedReason: doc.pausedReason } : {}),
    ...(doc.config ? { config: doc.config } : {}),
  };
}

/**
 * POST /schedules: checks the cron and the target as its owner's deposit would, then stores it.
 * `dryRun` answers the same view and its next fire times without storing anything.
 */
export async function addSchedule(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  dryRun = false,
  /** The deployed config it is a trigger of. */
  config?: string,
): Promise<ScheduleDetail> {
  requireScope(principal, "work:deposit");
  const spec = parseWith(ScheduleSpecSchema, body, "body");
  const cron = parseCron(spec.cron, spec.timezone);
  const pipelines = await checkTarget(ctx, principal, spec.target);
  const now = ctx.now();
  const doc: ScheduleDoc = {
    _id: freshObjectId(),
    user: principal.sub,
    ...spec,
    pipelines,
    owner: ownerOf(principal),
    created: now,
    nextRun: spec.lives === 0 ? null : nextAfter(cron, now),
    fired: 0,
    ...(config ? { config } : {}),
  };
  if (!dryRun && !(await ctx.store.schedules.insert(doc))) {
    throw refuse(
      "name_taken",
      `you already have a schedule named "${spec.name}": remove it first (workflow schedule rm) or pick another name`,
    );
  }
  return detailOf(ctx, doc, dryRun ? [] : undefined);
}

/**
 * Its next fire times; none for one the service can no longer read (it is paused, saying why).
 * A paused schedule's stored next time passes while it waits, and resuming counts from now: its
 * next times are those it would have if resumed now, never times already gone.
 */
function nextOf(doc: ScheduleDoc, now: number): number[] {
  const shown = doc.lives === -1 ? SCHEDULE_NEXT_SHOWN : Math.min(doc.lives, SCHEDULE_NEXT_SHOWN);
  if (doc.nextRun === null || shown === 0) return [];
  try {
    const cron = parseCron(doc.cron, doc.timezone);
    const first = doc.enabled === false ? nextAfter(cron, now) : doc.nextRun;
    return first === null ? [] : [first, ...fireTimes(cron, first, shown - 1)];
  } catch {
    return [];
  }
}

async function detailOf(
  ctx: ServiceContext,
  doc: ScheduleDoc,
  ticks?: ScheduleDetail["ticks"],
): Promise<ScheduleDetail> {
  const next = nextOf(doc, ctx.now());
  const recent =
    ticks ??
    (await ctx.store.schedules.ticksOf(doc._id, SCHEDULE_TICKS_SHOWN)).map(
      ({ tick, fired, works, run, error }) => ({
        tick,
        fired,
        ...(works ? { works } : {}),
        ...(run ? { run } : {}),
        ...(error ? { error } : {}),
      }),
    );
  return { ...viewOf(doc), next, ticks: recent };
}

const visible = (principal: Principal, doc: ScheduleDoc) =>
  doc.pipelines.every((p) => canSee(principal, p)) &&
  (isAdmin(principal) || doc.user === principal.sub);

/** A schedule its owner or an admin may see, within the token's pipelines. */
async function readable(ctx: ServiceContext, principal: Principal, id: ObjectId) {
  requireScope(principal, "work:read", "work:deposit");
  const doc = await ctx.store.schedules.get(id);
  // Another user's schedule does not exist for the caller: the same 404 as an unknown id.
  if (!doc || !visible(principal, doc)) throw notFound(`no schedule with id ${id.toHexString()}`);
  return doc;
}

export async function listSchedules(
  ctx: ServiceContext,
  principal: Principal,
): Promise<ScheduleView[]> {
  requireScope(principal, "work:read", "work:deposit");
  const docs = await ctx.store.schedules.list(
    { ...(isAdmin(principal) ? {} : { user: principal.sub }), within: principal.pipelines },
    LIST_LIMIT,
  );
  return docs.filter((doc) => visible(principal, doc)).map(viewOf);
}

export async function getSchedule(ctx: ServiceContext, principal: Principal, id: ObjectId) {
  return detailOf(ctx, await readable(ctx, principal, id));
}

/** Pauses (enabled: false) or resumes a schedule; resuming counts from now, skipping what passed. */
export async function setEnabled(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
  enabled: boolean,
) {
  requireScope(principal, "work:deposit");
  const doc = await readable(ctx, principal, id);
  const nextRun =
    doc.lives === 0
      ? null
      : enabled
        ? nextAfter(parseCron(doc.cron, doc.timezone), ctx.now())
        : doc.nextRun;
  // The owner resuming with a fresh token gives the schedule that token's rights from now on.
  const owner = enabled && principal.sub === doc.user ? ownerOf(principal) : undefined;
  const updated = await ctx.store.schedules.setEnabled(id, enabled, nextRun, owner);
  if (!updated) throw notFound(`no schedule with id ${id.toHexString()}`);
  return detailOf(ctx, updated);
}

export async function removeSchedule(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<ScheduleRemoved> {
  requireScope(principal, "work:deposit");
  await readable(ctx, principal, id);
  if (!(await ctx.store.schedules.remove(id))) {
    throw notFound(`no schedule with id ${id.toHexString()}`);
  }
  return { id: id.toHexString(), removed: true };
}
