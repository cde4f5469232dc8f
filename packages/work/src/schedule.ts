/** Schedules: what they fire, when, and what a missed tick does. */

import { z } from "zod";
import { FreeArraySchema, FreeObjectSchema } from "./free.js";

/** The most ticks `missed: all` fires after a downtime; older ones are skipped. */
export const MAX_MISSED_TICKS = 100;
/** The most works one tick of a schedule deposits (a deposit's own cap). */
export const MAX_SCHEDULE_WORKS = 10_000;
/** How many fire times and past ticks `GET /schedules/:id` shows. */
export const SCHEDULE_NEXT_SHOWN = 5;
export const SCHEDULE_TICKS_SHOWN = 20;

/** What happens to ticks that passed while no instance of the service was running. */
export const MissedSchema = z.enum(["skip", "latest", "all"]);
export type Missed = z.infer<typeof MissedSchema>;

/** Five fields (minute first) or six (second first): croner reads both; seven (years) is refused. */
export const CronSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((text) => [5, 6].includes(text.split(/\s+/).length), {
    error:
      'cron must have 5 fields (minute hour day month weekday, e.g. "0 2 * * *") or 6 (seconds first)',
  });

/** An IANA zone such as Europe/Berlin; the runtime's own list decides what exists. */
export const TimezoneSchema = z
  .string()
  .min(1)
  .max(64)
  .refine(
    (zone) => {
      try {
        new Intl.DateTimeFormat("en", { timeZone: zone });
        return true;
      } catch {
        return false;
      }
    },
    { error: "timezone must be an IANA zone such as UTC, Europe/Berlin or America/Toronto" },
  );

/** A list of works deposited at each tick, each as `POST /work` takes it. */
export const WorksTargetSchema = z.strictObject({
  works: FreeArraySchema.min(1, { error: "works: name at least one work" }).max(MAX_SCHEDULE_WORKS),
});

/** A pipeline config (YAML text or an object) run with these params at each tick. */
export const PipelineTargetSchema = z.strictObject({
  config: z.union([z.string().min(1).max(1_000_000), FreeObjectSchema]),
  params: FreeObjectSchema.optional(),
});

export const ScheduleTargetSchema = z.union([WorksTargetSchema, PipelineTargetSchema], {
  error: "target must be {works: [...]} or {config: <pipeline config>, params?: {...}}",
});
export type ScheduleTarget = z.infer<typeof ScheduleTargetSchema>;

/** What `POST /schedules` takes: one schedule. */
export const ScheduleSpecSchema = z.strictObject({
  /** Unique among its owner's schedules. */
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\w.:-]+$/, { error: "name may hold letters, digits, '_', '.', ':' and '-'" }),
  cron: CronSchema,
  timezone: TimezoneSchema.default("UTC"),
  target: ScheduleTargetSchema,
  /** How many times it fires; -1 for ever. */
  lives: z.number().int().min(-1).max(1_000_000_000).default(-1),
  missed: MissedSchema.default("skip"),
  enabled: z.boolean().default(true),
});
export type ScheduleSpec = z.output<typeof ScheduleSpecSchema>;
export type ScheduleInput = z.input<typeof ScheduleSpecSchema>;

/** One firing of a schedule and what it deposited. */
export interface ScheduleTick {
  /** The cron time it fired for (unix seconds). */
  tick: number;
  /** When it fired (unix seconds). */
  fired: number;
  works?: string[];
  run?: string;
  error?: string;
}

/** A schedule as the service answers it. */
export interface ScheduleView extends ScheduleSpec {
  id: string;
  user: string;
  pipelines: string[];
  created: number;
  /** The next fire time (unix seconds); null once it is done (no lives left). */
  nextRun: number | null;
  /** How many times it has fired. */
  fired: number;
  done: boolean;
  /** Why it is paused, when the service paused it (its owner may no longer deposit). */
  pausedReason?: string;
  /** The deployed pipeline config whose `on:` made it. */
  config?: string;
}

export interface ScheduleDetail extends ScheduleView {
  /** The next fire times (unix seconds), at most 5. */
  next: number[];
  /** The last ticks, newest first, at most 20. */
  ticks: ScheduleTick[];
}
