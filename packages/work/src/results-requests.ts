/** The results store's requests and answers, in the shapes CHIME's results client uses. */

import { z } from "zod";
import { MAX_VIEW_LIMIT } from "./requests.js";

export { RESULT_STATUSES, RESULTS_PREFIX } from "./results-paths.js";

/**
 * POST {prefix}/view. CHIME's client sends every key, `projection: {}` for all fields, and
 * `limit: 0` for "no limit" (its `limit=-1`); the answer is still bounded by the service's byte cap.
 */
export const ResultsViewRequestSchema = z.strictObject({
  query: z.record(z.string(), z.unknown()).nullish(),
  projection: z.record(z.string(), z.union([z.boolean(), z.literal(0), z.literal(1)])).nullish(),
  skip: z.int().min(0).max(1_000_000).nullish(),
  /** 0: every match (up to the byte cap). @defaultValue 100 */
  limit: z.int().min(0).max(MAX_VIEW_LIMIT).nullish(),
});
export type ResultsViewRequest = z.input<typeof ResultsViewRequestSchema>;

/** POST {prefix}/view/count. */
export const ResultsCountRequestSchema = z.strictObject({
  query: z.record(z.string(), z.unknown()).nullish(),
});
export type ResultsCountRequest = z.input<typeof ResultsCountRequestSchema>;

/** DELETE {prefix}/results?<pipeline>=<id>&<pipeline>=<id>: each key a pipeline, each value its ids. */
export const ResultsDeleteParamsSchema = z.record(
  z.string(),
  z.union([z.string(), z.array(z.string())]),
);
export type ResultsDeleteParams = z.input<typeof ResultsDeleteParamsSchema>;

/** POST {prefix}/results answers, for each pipeline of the request, true once its works are kept. */
export const ResultsDepositAnswerSchema = z.record(z.string(), z.literal(true));
