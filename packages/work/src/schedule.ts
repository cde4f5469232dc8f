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

/**
 * The answers of /schedules, generated into the OpenAPI document and checked against the
 * service's answers in its tests: strict, so a field the service starts sending is added here.
 */

/** One firing of a schedule and what it deposited. */
export const ScheduleTickSchema = z.strictObject({
  /** The cron time it fired for (unix seconds). */
  tick: z.number(),
  /** When it fired (unix seconds). */
  fired: z.number(),
  works: z.array(z.string()).optional(),
  run: z.string().optional(),
  error: z.string().optional(),
});
export type ScheduleTick = z.output<typeof ScheduleTickSchema>;

/** A schedule as the service answers it. */
export const ScheduleViewSchema = ScheduleSpecSchema.extend({
  id: z.string(),
  user: z.string(),
  pipelines: z.array(z.string()),
  created: z.number(),
  /** The next fire time (unix seconds); null once it is done (no lives left). */
  nextRun: z.number().nullable(),
  /** How many times it has fired. */
  fired: z.int(),
  done: z.boolean(),
  /** Why it is paused, when the service paused it (its owner may no longer deposit). */
  pausedReason: z.string().optional(),
  /** The deployed pipeline config whose `on:` made it. */
  config: z.string().optional(),
});
export type ScheduleView = z.output<typeof ScheduleViewSchema>;

/** GET /schedules/:id, and what adding, pausing and resuming one answer. */
export const ScheduleDetailSchema = ScheduleViewSchema.extend({
  /** The next fire times (unix seconds), at most SCHEDULE_NEXT_SHOWN. */
  next: z.array(z.number()),
  /** The last ticks, newest first, at most SCHEDULE_TICKS_SHOWN. */
  ticks: z.array(ScheduleTickSchema),
});
export type ScheduleDetail = z.output<typeof ScheduleDetailSchema>;

export const ScheduleRemovedSchema = z.strictObject({ id: z.string(), removed: z.literal(true) });
export type ScheduleRemoved = z.output<typeof ScheduleRemovedSchema>;
