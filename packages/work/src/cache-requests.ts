/** Requests and answers of the cache's endpoints: expiry and a run's preview. */

import { z } from "zod";
import { DurationSchema } from "./cache.js";
import { ObjectIdSchema, PipelineSchema } from "./schema.js";

/**
 * POST /cache/expire: the entries it names may no longer stand in for new works. One of `run`
 * with `step` (that step's works and those of the steps after it), `key`, or `pipeline` with
 * `olderThan` (successes that stopped before then).
 */
export const ExpireRequestSchema = z
  .strictObject({
    run: ObjectIdSchema.optional(),
    step: z.string().min(1).max(64).optional(),
    key: z.string().min(1).max(128).optional(),
    pipeline: PipelineSchema.optional(),
    olderThan: DurationSchema.optional(),
  })
  .refine(
    (r) =>
      [
        r.run !== undefined || r.step !== undefined,
        r.key !== undefined,
        r.pipeline !== undefined,
      ].filter(Boolean).length === 1,
    { error: "give one of: run and step, key, or pipeline (with olderThan)" },
  )
  .refine((r) => (r.run === undefined) === (r.step === undefined), {
    error: "run and step go together: the step of that run (and the steps after it) expire",
  });
export type ExpireRequest = z.input<typeof ExpireRequestSchema>;

/** What POST /cache/expire did. */
export const ExpireResultSchema = z.strictObject({
  /** Successes that may no longer stand in. */
  expired: z.int(),
  keys: z.int(),
});
export type ExpireResult = z.output<typeof ExpireResultSchema>;

/** One work of a run's preview (POST /runs/preview): taken from the cache, or to run. */
export const PreviewWorkSchema = z.strictObject({
  step: z.string(),
  index: z.int(),
  key: z.string().optional(),
  /** The success it would be answered from; absent: it will run. */
  from: z.string().optional(),
});
export type PreviewWork = z.output<typeof PreviewWorkSchema>;

/** POST /runs/preview takes what POST /runs takes (CreateRunSchema) and answers its works. */
export const PreviewAnswerSchema = z.strictObject({
  name: z.string(),
  works: z.array(PreviewWorkSchema),
});
export type PreviewAnswer = z.output<typeof PreviewAnswerSchema>;
