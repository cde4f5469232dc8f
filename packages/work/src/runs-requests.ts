/**
 * The requests and answers of /runs: one zod schema each, which the service parses with, the
 * OpenAPI document is generated from, and the client and the dashboard take their types from.
 * Answers are strict objects: a field the service starts sending is added here first, or the
 * tests that check its answers against these schemas fail.
 */

import { z } from "zod";
import { FreeObjectSchema } from "./free.js";
import { RunAtSchema } from "./pipeline/triggers.js";
import { ObjectIdSchema } from "./schema.js";
import { RUN_STATUSES } from "./statuses.js";

/** The longest config text POST /runs takes. */
export const MAX_CONFIG_TEXT = 1_000_000;
/** The most runs one GET /runs answers. */
export const MAX_RUN_LIST_LIMIT = 1000;
/** @defaultValue of GET /runs's limit. */
export const RUN_LIST_LIMIT = 50;

/** POST /runs (and POST /runs/preview, which ignores `at`). */
export const CreateRunSchema = z.strictObject({
  config: z
    .union([z.string().max(MAX_CONFIG_TEXT), FreeObjectSchema], {
      error: "config must be the pipeline config, as YAML text or as an object",
    })
    .describe("the pipeline config (the PipelineConfig schema), as YAML text or as an object"),
  params: FreeObjectSchema.optional(),
  /** Released at this time rather than now (`workflow pipeline run --at`). */
  at: RunAtSchema.optional(),
});
export type CreateRunRequest = z.input<typeof CreateRunSchema>;

/** What POST /runs answers (201): the run's id and its works' ids. */
export const RunCreatedSchema = z.strictObject({ id: z.string(), works: z.array(z.string()) });
export type RunCreated = z.output<typeof RunCreatedSchema>;

/** What a dry run of a run answers (POST /runs?dry_run=true): the run as it would start. */
export const RunCheckSchema = z.strictObject({
  name: z.string(),
  user: z.string(),
  pipelines: z.array(z.string()),
  works: z.int(),
});
export type RunCheck = z.output<typeof RunCheckSchema>;

/** `?name&user&status&limit&skip` on GET /runs. */
export const RunListParamsSchema = z.strictObject({
  name: z.string().max(128).optional(),
  user: z.string().max(256).optional(),
  status: z.enum(RUN_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_RUN_LIST_LIMIT).default(RUN_LIST_LIMIT),
  skip: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type RunListParams = z.input<typeof RunListParamsSchema>;

export const RunEventSchema = z.strictObject({
  at: z.number(),
  kind: z.string(),
  step: z.string().optional(),
  detail: z.string().optional(),
});
export type RunEvent = z.output<typeof RunEventSchema>;

/** Where a delivery (the callback, the Slack message) stands. */
const DeliveryStateSchema = z.strictObject({
  attempts: z.int(),
  delivered: z.number().optional(),
  error: z.string().optional(),
});

export const RunStepSummarySchema = z.strictObject({
  name: z.string(),
  needs: z.array(z.string()),
  if: z.string(),
  works: z.int(),
  maxParallel: z.int().optional(),
  /** For a step made from its needs' results: what from ("fans out from ... at run time"). */
  grows: z.string().optional(),
  /** Whether its works were made: `works` counts them from then on. */
  grown: z.boolean().optional(),
  /** Its outcome; else, in a run cancelled or timed out, how the run ended; else running or waiting. */
  state: z.string(),
  /** By status; GET /runs leaves them out. */
  counts: z.record(z.string(), z.int()).optional(),
  /** Its successes answered from the cache (among counts.success). */
  cached: z.int().optional(),
});
export type RunStepSummary = z.output<typeof RunStepSummarySchema>;

/** A run as GET /runs/:id shows it (GET /runs leaves out counts and events). */
export const RunSummarySchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  user: z.string(),
  pipelines: z.array(z.string()),
  status: z.enum(RUN_STATUSES),
  created: z.number(),
  finished: z.number().optional(),
  /** Since when it is paused (unix seconds). */
  paused: z.number().optional(),
  /** When its config's timeout passes (unix seconds). */
  deadline: z.number().optional(),
  /** Its config's top-level max-parallel: its works queued or running at once. */
  maxParallel: z.int().optional(),
  params: z.record(z.string(), z.unknown()),
  steps: z.array(RunStepSummarySchema),
  events: z.array(RunEventSchema).optional(),
  callback: DeliveryStateSchema.extend({ url: z.string() }).optional(),
  slack: DeliveryStateSchema.optional(),
});
export type RunSummary = z.output<typeof RunSummarySchema>;

/** What POST /runs/:id/cancel answers: how many of its works were cancelled. */
export const RunCancelledSchema = z.strictObject({ id: z.string(), cancelled: z.int() });
export type RunCancelled = z.output<typeof RunCancelledSchema>;

/** POST /runs/:id/rerun. */
export const RerunSchema = z.strictObject({
  steps: z.array(z.string().min(1)).max(500).optional(),
  work: ObjectIdSchema.optional(),
  downstream: z.boolean().default(false),
  failedOnly: z.boolean().default(false),
  /** Carries on a cancelled or timed-out run: every work that did not succeed, and nothing else. */
  unfinishedOnly: z.boolean().default(false),
});
export type RerunRequest = z.input<typeof RerunSchema>;

/** What a rerun did: how many works went back to waiting, in which steps. */
export const RerunAnswerSchema = z.strictObject({
  id: z.string(),
  works: z.int(),
  steps: z.array(z.string()),
});
export type RerunAnswer = z.output<typeof RerunAnswerSchema>;

/** What POST /runs/:id/pause answers: how many queued works went back to waiting. */
export const RunPausedSchema = z.strictObject({
  id: z.string(),
  paused: z.literal(true),
  waiting: z.int(),
});
export type RunPaused = z.output<typeof RunPausedSchema>;

export const RunResumedSchema = z.strictObject({ id: z.string(), paused: z.literal(false) });
export type RunResumed = z.output<typeof RunResumedSchema>;

/** What POST /runs/:id/steps did (its body is MergeStepsSchema, ./pipeline/merge.ts). */
export const StepsMergedSchema = z.strictObject({
  id: z.string(),
  added: z.array(z.string()),
  replaced: z.array(z.string()),
  /** Steps after a replaced one, which run again. */
  again: z.array(z.string()),
  works: z.int(),
});
export type StepsMerged = z.output<typeof StepsMergedSchema>;
