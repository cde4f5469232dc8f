/** OpenAPI paths of a run's outputs. */

import { RunOutputsParamsSchema } from "@workflow/work";
import { op, type Paths, pathParam, queryParameters, ref } from "./build.js";

/** A run's outputs, step by step. */
export const runOutputPaths: Paths = {
  "/runs/{id}/outputs": {
    get: op(
      "Each step's works with their results, products and plots, in the run's step order and matrix order",
      ref("RunOutputs"),
      { parameters: [pathParam("id"), ...queryParameters(RunOutputsParamsSchema)] },
    ),
  },
};
