/**
 * CHIME's schedules API (workflow/http/schedules.py, client v1.12) on these schedules: a deployed
 * config with a `schedule` section is a schedule whose target is that config, so that
 * `workflow schedules deploy|ls|ps|rm|count` of CHIME's CLI work here.
 */

import {
  type ChimeSchedule,
  ChimeScheduleConfigSchema,
  JsonParam,
  type ScheduleDetail,
  type ScheduleView,
} from "@workflow/work";
import { z } from "zod";
import type { Principal } from "../../auth/tokens.js";
import { invalid } from "../../errors.js";
import { project } from "../chime-query.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import {
  addSchedule,
  getSchedule,
  listSchedules,
  parseScheduleId,
  removeSchedule,
} from "./manage.js";

/** POST /v2/schedule: CHIME's config YAML (as a mapping). Answers the new schedule's id. */
export async function deployChimeSchedule(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<string[]> {
  const { schedule, ...config } = parseWith(ChimeScheduleConfigSchema, body, "body");
  const lives = schedule.lives ?? (schedule.count ? schedule.count : -1);
  const detail = await addSchedule(ctx, principal, {
    name: config.name,
    cron: schedule.cronspec,
    ...(schedule.timezone ? { timezone: schedule.timezone } : {}),
    target: { config },
    lives,
  });
  return [detail.id];
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** CHIME's view of a schedule: its status words, and its history as [time, what it started]. */
function asChime(view: ScheduleView, ticks: ScheduleDetail["ticks"] = []): ChimeSchedule {
  const config = view.target as { config?: unknown; works?: unknown };
  return {
    id: view.id,
    name: view.name,
    status: view.done ? "expired" : view.enabled ? "active" : "paused",
    lives: view.lives,
    has_spawned: view.fired,
    next_time: view.nextRun === null ? null : iso(view.nextRun),
    crontab: view.cron,
    timezone: view.timezone,
    user: view.user,
    config: {
      ...(config.config !== null && typeof config.config === "object" ? config.config : {}),
      ...(config.works ? { works: config.works } : {}),
      name: view.name,
    },
    history: ticks.map(
      (tick) => [iso(tick.fired), tick.run ?? (tick.works ?? []).join(",")] as const,
    ),
  };
}

const ListSchema = z.looseObject({
  query: JsonParam("query"),
  projection: JsonParam("projection"),
});

/** The query forms CHIME's CLI sends: `{"id"}`, `{"config.name"}` or `{"name"}`, or none. */
function queryOf(query: Record<string, unknown>): { id?: string; name?: string } {
  const { id, name, "config.name": configName, ...rest } = query;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw invalid(
      `query may name only id, name or config.name; ${unknown.map((k) => `"${k}"`).join(", ")} is not understood`,
    );
  }
  const named = name ?? configName;
  if ((id !== undefined && typeof id !== "string") || (named != null && typeof named !== "string"))
    throw invalid("query: id and name must be strings");
  return { ...(id ? { id } : {}), ...(named ? { name: named as string } : {}) };
}

/** GET /v2/schedule?query&projection: the schedules as CHIME shows them, newest history first. */
export async function listChimeSchedules(
  ctx: ServiceContext,
  principal: Principal,
  params: unknown,
) {
  const { query, projection } = parseWith(ListSchema, params, "query");
  const { id, name } = queryOf(query);
  if (id !== undefined) {
    const detail = await getSchedule(ctx, principal, parseScheduleId(id));
    if (name !== undefined && detail.name !== name) return [];
    return [project(asChime(detail, detail.ticks), projection)];
  }
  const views = await listSchedules(ctx, principal);
  return views
    .filter((view) => name === undefined || view.name === name)
    .map((view) => project(asChime(view), projection));
}

/** GET /v2/schedule/count?query={"name"}: how many schedules each name has. */
export async function countChimeSchedules(
  ctx: ServiceContext,
  principal: Principal,
  params: unknown,
) {
  const { query } = parseWith(ListSchema, params, "query");
  const { name } = queryOf(query);
  const counts: Record<string, number> = {};
  for (const view of await listSchedules(ctx, principal)) {
    if (name === undefined || view.name === name) counts[view.name] = (counts[view.name] ?? 0) + 1;
  }
  return counts;
}

/** DELETE /v2/schedule?query={"id"}. */
export async function removeChimeSchedule(
  ctx: ServiceContext,
  principal: Principal,
  params: unknown,
) {
  const { query } = parseWith(ListSchema, params, "query");
  const { id } = queryOf(query);
  if (id === undefined) throw invalid('query must name the schedule: {"id": "..."}');
  return removeSchedule(ctx, principal, parseScheduleId(id));
}
