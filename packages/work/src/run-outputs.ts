/** A run's outputs, as the service answers them. */

import { z } from "zod";
import { STATUSES } from "./statuses.js";

/** `?step=NAME` on GET /runs/:id/outputs: only that step's works. */
export const RunOutputsParamsSchema = z.strictObject({
  step: z
    .string({ error: "step must be a step's name" })
    .regex(/^[A-Za-z0-9_-]{1,64}$/, {
      error: "step must be a step's name (letters, digits, '_' or '-')",
    })
    .optional(),
});
export type RunOutputsParams = z.infer<typeof RunOutputsParamsSchema>;

/** One work's outputs, in its step's matrix order. */
export const WorkOutputsSchema = z.strictObject({
  id: z.string(),
  status: z.enum(STATUSES),
  matrix: z.record(z.string(), z.unknown()).optional(),
  results: z.record(z.string(), z.unknown()).optional(),
  products: z.array(z.string()).optional(),
  plots: z.array(z.string()).optional(),
});
export type WorkOutputs = z.output<typeof WorkOutputsSchema>;

/** GET /runs/:id/outputs: each step's results and products, steps in the run's order. */
export const RunOutputsSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  steps: z.array(
    z.strictObject({ name: z.string(), state: z.string(), works: z.array(WorkOutputsSchema) }),
  ),
});
export type RunOutputs = z.output<typeof RunOutputsSchema>;
