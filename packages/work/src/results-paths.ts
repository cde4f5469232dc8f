/** Where the results store lives in the service's URL space, and its statuses. Imports nothing. */

/**
 * The results store: finished works moved out of the queue, kept for years. It is part of the
 * buckets service, under this prefix, because /view and /status at the root already mean the
 * queue. CHIME's workspace names `http.baseurls.results: http://host:port/results-service`, and its
 * client appends /version, /results, /view, /view/count and /status to that. Imports nothing, so
 * that the dashboard's bundle shares it without zod.
 */
export const RESULTS_PREFIX = "/results-service";

/** The statuses a result may have: only finished works are kept. */
export const RESULT_STATUSES = ["success", "failure"] as const;
