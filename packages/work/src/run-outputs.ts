/** A run's outputs, as the service answers them. */

import { z } from "zod";
import type { Status } from "./schema.js";

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
export interface WorkOutputs {
  id: string;
  status: Status;
  matrix?: Record<string, unknown>;
  results?: Record<string, unknown>;
  products?: string[];
  plots?: string[];
}

/** GET /runs/:id/outputs: each step's results and products, steps in the run's order. */
export interface RunOutputs {
  id: string;
  name: string;
  status: string;
  steps: { name: string; state: string; works: WorkOutputs[] }[];
}
