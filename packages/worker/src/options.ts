/** The worker's settings and their defaults, defined once. */

import { MAX_LEASE_SECONDS, MAX_WAIT_SECONDS } from "@workflow/work";
import { z } from "zod";

/** What a worker does unless told otherwise (the `workflow run` flags show the same). */
export const WORKER_DEFAULTS = {
  lives: -1,
  sleep: 1,
  concurrency: 1,
  grace: 30,
  wait: 20,
  name: "worker",
} as const;

/** A worker's settings; `startWorker` resolves them once. */
export const WorkerOptionsSchema = z.object({
  /** Pipelines to serve. */
  pipelines: z.array(z.string().min(1)).min(1, { error: "name at least one pipeline" }),
  site: z.string().min(1).optional(),
  tags: z.array(z.string()).optional(),
  parents: z.array(z.string()).optional(),
  events: z.array(z.int()).optional(),
  /** For works that name neither: run this function... */
  function: z.string().optional(),
  /** ...or this command. */
  command: z.array(z.string()).min(1).optional(),
  /** Works to do before exiting; -1 is forever. @defaultValue -1 */
  lives: z.int().min(-1).default(WORKER_DEFAULTS.lives),
  /** Seconds to pause after an empty long-poll. @defaultValue 1 */
  sleep: z.number().min(0).default(WORKER_DEFAULTS.sleep),
  /** Works run at once. @defaultValue 1 */
  concurrency: z.int().min(1).max(256).default(WORKER_DEFAULTS.concurrency),
  /** Seconds running works get to finish on stop, before they are killed and reported failed. @defaultValue 30 */
  grace: z.number().min(0).default(WORKER_DEFAULTS.grace),
  /**
   * Seconds a claim holds between heartbeats (`?lease`): a worker that dies loses its works after
   * this long. @defaultValue the service's BUCKETS_LEASE_SECONDS
   */
  lease: z.number().min(1).max(MAX_LEASE_SECONDS).optional(),
  /** Seconds each withdraw long-polls. @defaultValue 20 */
  wait: z.number().min(0).max(MAX_WAIT_SECONDS).default(WORKER_DEFAULTS.wait),
  /** Where functions and commands run. @defaultValue process.cwd() */
  cwd: z.string().default(() => process.cwd()),
  /**
   * Directories that function works may load modules from (relative ones from `cwd`); a function
   * resolving anywhere else, or to a Node built-in or Python's standard library, is refused.
   * @defaultValue [cwd, cwd/node_modules], and for Python functions also each PYTHONPATH entry
   */
  functionRoots: z.array(z.string().min(1)).min(1).optional(),
  /** A name for this worker, recorded in each attempt's history with host and pid. */
  name: z.string().default(WORKER_DEFAULTS.name),
});

export type WorkerOptions = z.input<typeof WorkerOptionsSchema>;
export type ResolvedWorkerOptions = z.output<typeof WorkerOptionsSchema>;
