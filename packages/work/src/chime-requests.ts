/**
 * The requests and answers of CHIME's configs API (/configs) and schedules API (/v2/schedule), as
 * its Python client (v1.12) sends and reads them: one zod schema each, which the service parses
 * with, the OpenAPI document is generated from and the client takes its types from. Field names
 * are CHIME's: its client reads them, so none is renamed or dropped.
 */

import { z } from "zod";
import { protoKeyAt } from "./free.js";
import { QueryFlagSchema } from "./requests.js";
import { RunCheckSchema } from "./runs-requests.js";
import { ScheduleDetailSchema } from "./schedule.js";
import { RUN_STATUSES } from "./statuses.js";

/**
 * A query parameter holding a JSON object (`{}` when absent): CHIME's client sends `query`,
 * `projection` and `params` as JSON text in the URL, as its backends take them.
 */
export const JsonParam = (what: string, example = '{"id": "..."}') =>
  z
    .string()
    .max(10_000)
    .default("{}")
    .describe(`a JSON object, e.g. ${example}`)
    .transform((text, ctx) => {
      try {
        const value = JSON.parse(text) as unknown;
        const proto = protoKeyAt(value);
        if (proto) {
          ctx.addIssue({
            code: "custom",
            path: proto,
            message: `"__proto__" may not be a key (JavaScript takes it for the object's prototype, so it would be dropped); rename it`,
          });
          return z.NEVER;
        }
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
          return value as Record<string, unknown>;
        }
      } catch {
        // reported below
      }
      ctx.addIssue({
        code: "custom",
        message: `${what} must be a JSON object, e.g. ${example}`,
      });
      return z.NEVER;
    });

/** POST /configs's own query: CHIME's body is the config, so what goes with it goes here. */
export const ConfigDeployParamsSchema = z.looseObject({
  dry_run: QueryFlagSchema.describe(
    "true: check the deploy (or the run) as it would be done, store nothing; a deploy answers the schedules it would make",
  ),
  params: JsonParam("params", '{"n": 3}').describe(
    "a JSON object of the run's params (checked against the config's), given to every run a deployed config's schedules start, e.g. {\"n\": 3}",
  ),
});

/** POST /configs of a config without `on:`: the run started, as CHIME's CLI prints it. */
export const ConfigStartedSchema = z.strictObject({
  config: z.string(),
  pipelines: z.array(z.string()),
});
export type ConfigStarted = z.output<typeof ConfigStartedSchema>;

/** POST /configs?dry_run=true of a config without `on:`: the run as it would start. */
export const ConfigCheckSchema = RunCheckSchema.extend({ dryRun: z.literal(true) });
export type ConfigCheck = z.output<typeof ConfigCheckSchema>;

/** POST /configs of a config with `on:`: its name, and the schedules its cron triggers became. */
export const ConfigDeployedSchema = z.strictObject({
  config: z.string(),
  pipelines: z.array(z.string()),
  schedules: z.array(ScheduleDetailSchema),
  /** Set on a dry run: the schedules it would make, none stored. */
  dryRun: z.literal(true).optional(),
});
export type ConfigDeployed = z.output<typeof ConfigDeployedSchema>;

/** Everything POST /configs answers. */
export const ConfigDeployAnswerSchema = z.union([
  ConfigStartedSchema,
  ConfigCheckSchema,
  ConfigDeployedSchema,
]);

/** DELETE /configs: CHIME's client reads a plain `true`. */
export const ConfigRemovedSchema = z.literal(true);
export type ConfigRemoved = z.output<typeof ConfigRemovedSchema>;

/** A run as CHIME's configs API shows it (GET /configs, before any `projection`). */
export const ChimeConfigSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  version: z.literal("2"),
  user: z.string(),
  status: z.enum(RUN_STATUSES),
  /** The run itself: a config's one pipeline. */
  pipelines: z.array(z.string()),
  creation: z.number(),
  /** The config as JSON text (JSON is YAML: CHIME's CLI reads it with yaml.safe_load). */
  yaml: z.string().optional(),
  deployments: z.array(z.unknown()).optional(),
});
export type ChimeConfig = z.output<typeof ChimeConfigSchema>;

/** GET /configs: a `projection` keeps or leaves out fields. */
export const ChimeConfigListSchema = z.array(ChimeConfigSchema.partial());

/** GET /configs/count. */
export const ConfigCountSchema = z.strictObject({ configs: z.int() });

/** PUT /configs/cancel (200; a run that had already ended answers 304, empty). */
export const ConfigStoppedSchema = z.strictObject({
  stopped_config: z.string(),
  stopped_pipelines: z.array(z.string()),
});

/** The `schedule` section of a CHIME config: `count` (0 = for ever) or `lives` (-1 = for ever). */
export const ChimeScheduleSectionSchema = z.strictObject({
  cronspec: z.string({ error: "schedule.cronspec: give a cron expression such as 0 2 * * *" }),
  lives: z.number().int().min(-1).optional(),
  count: z.number().int().min(0).optional(),
  timezone: z.string().optional(),
});

/** POST /v2/schedule: CHIME's config (the YAML as a mapping) with its `schedule` section. */
export const ChimeScheduleConfigSchema = z.looseObject({
  name: z.string({ error: "name: a scheduled config needs a name" }),
  schedule: ChimeScheduleSectionSchema,
});

/** What POST /v2/schedule answers: the new schedule's id, alone in a list. */
export const ChimeScheduleIdsSchema = z.array(z.string());

/** A schedule as CHIME's CLI shows it (GET /v2/schedule, before any `projection`). */
export const ChimeScheduleSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.enum(["active", "paused", "expired"]),
  lives: z.int(),
  has_spawned: z.int(),
  /** ISO 8601; null once it has no lives left. */
  next_time: z.string().nullable(),
  crontab: z.string(),
  timezone: z.string(),
  user: z.string(),
  /** The config its ticks run (its works, for a schedule of works), named as the schedule. */
  config: z.looseObject({ name: z.string() }),
  /** Its ticks, newest first, as [ISO time, the run it started or its works' ids]; empty in lists. */
  history: z.array(z.tuple([z.string(), z.string()])),
});
export type ChimeSchedule = z.output<typeof ChimeScheduleSchema>;

/** GET /v2/schedule: a `projection` keeps or leaves out fields. */
export const ChimeScheduleListSchema = z.array(ChimeScheduleSchema.partial());

/** GET /v2/schedule/count: how many schedules each name has. */
export const ChimeScheduleCountsSchema = z.record(z.string(), z.int());
