/**
 * The ticker: fires due schedules, each tick once across instances, missed ticks as the schedule
 * says.
 */

import { ScopeSchema } from "@workflow/work";
import { z } from "zod";
import type { Principal } from "../../auth/tokens.js";
import { ERROR_CODES, type ErrorFamily, ServiceError } from "../../errors.js";
import { freshObjectId } from "../../store/ids.js";
import type { ScheduleDoc } from "../../store/schedules.js";
import type { ServiceContext } from "../context.js";
import { dueTicks, parseCron } from "./cron.js";
import { depositTarget } from "./target.js";

/** The most schedules one evaluation fires; the rest wait for the next. */
const BATCH = 100;
/** A tick is on time for this long at least; older ones count as missed. */
const MIN_GRACE_SECONDS = 60;

/** Refusals that will not go away by themselves: the schedule pauses rather than fail each tick. */
const LASTING = new Set<ErrorFamily>([
  "unauthorized",
  "forbidden",
  "invalid",
  "too_large",
  "not_found",
]);

const OwnerSchema = z.object({
  sub: z.string(),
  scopes: z.array(ScopeSchema),
  pipelines: z.array(z.string()).optional(),
  exp: z.number().optional(),
});

export interface Ticker {
  /** One evaluation: fires every due tick this instance claims. Answers how many ticks it fired. */
  evaluate(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Every instance evaluates due schedules every `intervalSeconds`. A tick is claimed by moving the
 * schedule's `nextRun` on with a conditional update, so exactly one instance fires it; the tick's
 * record (schedule, tick) is unique, so even a second evaluation of the same tick deposits nothing.
 */
export function startTicker(ctx: ServiceContext, intervalSeconds: number): Ticker {
  const grace = Math.max(MIN_GRACE_SECONDS, 2 * intervalSeconds);
  let running: Promise<number> | undefined;
  const evaluate = () => {
    running ??= evaluateOnce(ctx, grace).finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    evaluate().catch((error) => ctx.events.emit("task:error", "schedules", error));
  }, intervalSeconds * 1000).unref();
  return {
    evaluate,
    stop: async () => {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

async function evaluateOnce(ctx: ServiceContext, grace: number): Promise<number> {
  const now = ctx.now();
  const due = await ctx.store.schedules.due(now, BATCH);
  let fired = 0;
  for (const schedule of due) {
    try {
      fired += await fireDue(ctx, schedule, now, grace);
    } catch (error) {
      // One schedule the service cannot read (its zone gone from this runtime, say) pauses, saying
      // why, rather than stop every other schedule at each evaluation.
      const reason = `the service could not evaluate it: ${error instanceof Error ? error.message : String(error)}`;
      await ctx.store.schedules.pauseFor(schedule._id, reason).catch(() => undefined);
      ctx.events.emit("task:error", "schedules", error);
    }
  }
  return fired;
}

async function fireDue(
  ctx: ServiceContext,
  schedule: ScheduleDoc,
  now: number,
  grace: number,
): Promise<number> {
  const expected = schedule.nextRun as number;
  const cron = parseCron(schedule.cron, schedule.timezone);
  const { fire: all, next } = dueTicks(cron, expected, now, grace, schedule.missed);
  const fire = schedule.lives === -1 ? all : all.slice(0, schedule.lives);
  const lives = schedule.lives === -1 ? -1 : schedule.lives - fire.length;
  const claimed = await ctx.store.schedules.claim(schedule._id, expected, {
    nextRun: lives === 0 ? null : next,
    lives,
    fired: schedule.fired + fire.length,
  });
  if (!claimed) return 0;
  for (const tick of fire) {
    if (!(await fireTick(ctx, schedule, tick, now))) break;
  }
  return fire.length;
}

/** Fires one tick as the schedule's owner; false when the schedule had to be paused. */
async function fireTick(
  ctx: ServiceContext,
  schedule: ScheduleDoc,
  tick: number,
  now: number,
): Promise<boolean> {
  const record = { _id: freshObjectId(), schedule: schedule._id, tick, fired: now };
  if (!(await ctx.store.schedules.openTick(record))) return true;
  const owner = OwnerSchema.parse(schedule.owner) satisfies Principal;
  if (owner.exp !== undefined && owner.exp <= now) {
    const reason = `the token of "${owner.sub}" that gave this schedule its rights expired at ${new Date(owner.exp * 1000).toISOString()}: resume it with a valid token`;
    await ctx.store.schedules.linkTick(record, { error: reason });
    await ctx.store.schedules.pauseFor(schedule._id, reason);
    return false;
  }
  try {
    const deposited = await depositTarget(ctx, owner, schedule.target, tick);
    await ctx.store.schedules.linkTick(record, deposited);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await ctx.store.schedules.linkTick(record, { error: message });
    if (error instanceof ServiceError && LASTING.has(ERROR_CODES[error.code].family)) {
      await ctx.store.schedules.pauseFor(
        schedule._id,
        `its owner "${owner.sub}" can no longer deposit its target: ${message}`,
      );
      return false;
    }
    ctx.events.emit("task:error", "schedules", error);
    return true;
  }
}
