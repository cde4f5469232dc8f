/** The schema of a pipeline config and its limits. */

import { z } from "zod";
import { CacheInputSchema } from "../cache.js";
import { FreeObjectSchema } from "../free.js";
import { SlackSchema } from "../schema.js";
import { RunMaxParallelSchema, RunTimeoutSchema } from "./limits.js";
import { TriggersSchema } from "./triggers.js";

/** The most works one run may create, all steps and matrix entries together. */
export const MAX_RUN_WORKS = 10_000;
/** The most steps one config may hold. */
export const MAX_STEPS = 500;

/** A step's name: it appears in `needs` and in `${{ needs.<name>... }}`. */
const StepNameSchema = z
  .string({ error: "name must be a string" })
  .regex(/^[A-Za-z0-9_-]{1,64}$/, { error: "name must be 1 to 64 letters, digits, '_' or '-'" });

/** A step's `if:`, kept as written; its grammar and names are checked by ./conditions.ts. */
const ConditionSchema = z
  .string({
    error: 'if must be a condition such as "success()" or "needs.fit.result == \'failure\'"',
  })
  .transform((value) => value.replace(/^\s*\$\{\{\s*([\s\S]*?)\s*\}\}\s*$/, "$1").trim());
export type Condition = z.output<typeof ConditionSchema>;

/** `${{ needs.<step>.results.<path> }}`, alone in the string: a list known when that step ends. */
export const RESULTS_EXPRESSION =
  /^\$\{\{\s*needs\.([A-Za-z0-9_-]{1,64})\.results((?:\.[A-Za-z0-9_-]+)*)\s*\}\}$/;

const ResultsListSchema = z.string().regex(RESULTS_EXPRESSION, {
  error:
    'a matrix key takes a list, or a parent\'s results as "${{ needs.<step>.results.<path> }}" (alone in the string); include takes a list of mappings, or such results',
});

const MatrixValuesSchema = z.union(
  [z.array(z.unknown()).min(1, { error: "a matrix list must not be empty" }), ResultsListSchema],
  {
    error:
      'a matrix key takes a list, or a parent\'s results as "${{ needs.<step>.results.<path> }}" (alone in the string)',
  },
);

/**
 * GitHub Actions' matrix: lists whose cross product gives the works, plus `include` and `exclude`,
 * `max-parallel` and `fail-fast`.
 */
export const MatrixSchema = z
  .object({
    include: z
      .union([z.array(FreeObjectSchema), ResultsListSchema], {
        error:
          'include takes a list of mappings, or a parent\'s results as "${{ needs.<step>.results.<path> }}"',
      })
      .optional(),
    /** One work per work of that step, each with its combination and its results alone. */
    from: StepNameSchema.optional(),
    exclude: z.array(FreeObjectSchema).optional(),
    "max-parallel": z.int().min(1, { error: "max-parallel must be at least 1" }).optional(),
    "fail-fast": z.boolean().optional(),
  })
  .catchall(MatrixValuesSchema);
export type Matrix = z.output<typeof MatrixSchema>;

/** A version may be `${{ params.code_version }}`, filled like the work's fields. */
const VersionSchema = z.union([z.string().min(1).max(256), z.number()], {
  error: "version must be a string (a git sha, an image digest, ${{ params.x }})",
});

export const StepSchema = z.strictObject({
  name: StepNameSchema,
  stage: z.int().min(0, { error: "stage must be a whole number, 0 or more" }).optional(),
  needs: z.union([StepNameSchema, z.array(StepNameSchema)]).optional(),
  if: ConditionSchema.optional(),
  matrix: MatrixSchema.optional(),
  /** At most this many of the step's works queued or running at once (as matrix.max-parallel). */
  "max-parallel": z.int().min(1, { error: "max-parallel must be at least 1" }).optional(),
  runs_on: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
  /** Its works may be answered from earlier successes with their keys; overrides the config's. */
  cache: CacheInputSchema.optional(),
  /** Part of its works' keys (a git sha, an image digest); overrides the config's. */
  version: VersionSchema.optional(),
  /** A Work template: any work field, with `${{ }}` expressions in its strings. */
  work: FreeObjectSchema,
});
export type Step = z.output<typeof StepSchema>;

/** CHIME's pipeline config v2, extended with needs, if, matrix options, params and callbacks. */
export const PipelineConfigSchema = z.strictObject({
  version: z.union([z.literal("2"), z.literal(2)], { error: 'version must be "2"' }),
  name: z
    .string({ error: "name must be a string" })
    .regex(/^[A-Za-z0-9-]{1,128}$/, { error: "name must be 1 to 128 letters, digits or '-'" }),
  /** Work fields every step's works start from. */
  defaults: FreeObjectSchema.optional(),
  /** `${{ params.x }}`: a default, or typed (see ./params.ts); values given when the run starts win. */
  params: FreeObjectSchema.optional(),
  /** Every step's works may be answered from earlier successes with their keys. */
  cache: CacheInputSchema.optional(),
  /** What starts its runs (see ./triggers.ts). */
  on: TriggersSchema.optional(),
  /** POSTed a signed JSON summary when the run ends. */
  callback: z.url({ protocol: /^https?$/, error: "callback must be an http(s) URL" }).optional(),
  notify: z.strictObject({ slack: SlackSchema.optional() }).optional(),
  /** The run ends `timedout` once this has passed since it started (see ./limits.ts). */
  timeout: RunTimeoutSchema.optional(),
  /** The most of the run's works queued or running at once, all steps together. */
  "max-parallel": RunMaxParallelSchema.optional(),
  /** CHIME's deployments (where its workers run); kept as given. */
  deployments: z.array(z.unknown()).optional(),
  pipeline: z.strictObject({
    steps: z
      .array(StepSchema)
      .min(1, { error: "pipeline.steps must hold at least one step" })
      .max(MAX_STEPS, { error: `at most ${MAX_STEPS} steps` }),
  }),
});
export type PipelineConfig = z.output<typeof PipelineConfigSchema>;
