/** Deploying a config with `on:` triggers: its schedules, and their removal. */

import {
  type ConfigDeployed,
  isCron,
  type ScheduleDetail,
  triggerScheduleName,
} from "@workflow/work";
import { requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { notFound, refuse } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { addSchedule, parseScheduleId, removeSchedule } from "../schedules/manage.js";
import { plan } from "./create.js";

/** The most of a user's schedules read to find a name a trigger would take. */
const MAX_SCHEDULES_READ = 10_000;

/** How a deploy is asked for: `params` are given to every run its schedules start. */
export interface DeployOptions {
  params?: Record<string, unknown>;
  /** Check everything a deploy checks and store nothing. */
  dryRun?: boolean;
}

/** Whether a config (as POST /configs takes it) says what starts its runs. */
export const hasTriggers = (body: unknown): body is Record<string, unknown> =>
  body !== null && typeof body === "object" && !Array.isArray(body) && "on" in body;

/**
 * Deploys a config with `on:`: each cron trigger becomes a schedule owned by the caller, as one
 * they added themselves, whose ticks run the config (without its `on`). Deploying it again
 * replaces its schedules; nothing runs now. Every trigger is checked before any is stored, so a
 * dry run is those checks alone. Its params are checked against the config's as a run's are.
 */
export async function deployTriggers(
  ctx: ServiceContext,
  principal: Principal,
  body: Record<string, unknown>,
  { params, dryRun = false }: DeployOptions = {},
): Promise<ConfigDeployed> {
  requireScope(principal, "work:deposit");
  const planned = plan(principal, body, params);
  const { on: _on, ...config } = body;
  const given = params && Object.keys(params).length > 0 ? { params } : {};
  const specs = (planned.config.on ?? []).filter(isCron).map((trigger, i) => ({
    name: triggerScheduleName(planned.name, i),
    cron: trigger.cron,
    timezone: trigger.timezone,
    ...(trigger.missed ? { missed: trigger.missed } : {}),
    target: { config, ...given },
  }));
  const previous = await ctx.store.schedules.ofConfig(principal.sub, planned.name);
  const mine = await ctx.store.schedules.list({ user: principal.sub }, MAX_SCHEDULES_READ);
  const checked: ScheduleDetail[] = [];
  for (const [i, spec] of specs.entries()) {
    // Its own earlier schedules are about to go: only a name another schedule holds is refused.
    const holder = mine.find((s) => s.name === spec.name);
    if (holder && holder.config !== planned.name) {
      throw refuse(
        "name_taken",
        `on[${i}]: you already have a schedule named "${spec.name}" that this config did not make: remove it first (workflow schedule rm) or rename the config`,
      );
    }
    checked.push(await addSchedule(ctx, principal, spec, true, planned.name));
  }
  if (dryRun) return { config: planned.name, pipelines: [], schedules: checked, dryRun: true };
  for (const { _id } of previous) await removeSchedule(ctx, principal, _id);
  const schedules: ScheduleDetail[] = [];
  try {
    for (const spec of specs) {
      schedules.push(await addSchedule(ctx, principal, spec, false, planned.name));
    }
  } catch (error) {
    for (const done of schedules) {
      await ctx.store.schedules.remove(parseScheduleId(done.id)).catch(() => undefined);
    }
    throw error;
  }
  return { config: planned.name, pipelines: [], schedules };
}

/** Removes a deployed config: the schedules its `on:` made. */
export async function undeployConfig(
  ctx: ServiceContext,
  principal: Principal,
  name: string,
): Promise<{ config: string; removed: number }> {
  requireScope(principal, "work:deposit");
  const made = await ctx.store.schedules.ofConfig(principal.sub, name);
  if (made.length === 0) {
    throw notFound(`you have no deployed config named "${name}" (workflow pipeline deploy FILE)`);
  }
  for (const { _id } of made) await removeSchedule(ctx, principal, _id);
  return { config: name, removed: made.length };
}
