/** OpenAPI paths of a run's outputs. */

import { RunOutputsParamsSchema } from "@workflow/work";
import { op, type Paths, pathParam, queryParameters, strings } from "./build.js";

const WORK_OUTPUTS = {
  type: "object",
  properties: {
    id: { type: "string" },
    status: { type: "string" },
    matrix: { type: "object" },
    results: { type: "object" },
    products: strings,
    plots: strings,
  },
};

/** A run's outputs, step by step. */
export const runOutputPaths: Paths = {
  "/runs/{id}/outputs": {
    get: op(
      "Each step's works with their results, products and plots, in the run's step order and matrix order",
      {
        type: "object",
        properties: {
          id: { type: "string" },
          name: { type: "string" },
          status: { type: "string" },
          steps: {
            type: "array",
            items: {
              type: "object",
              properties: {
                name: { type: "string" },
                state: { type: "string" },
                works: { type: "array", items: WORK_OUTPUTS },
              },
            },
          },
        },
      },
      { parameters: [pathParam("id"), ...queryParameters(RunOutputsParamsSchema)] },
    ),
  },
};
