/** The Work model: one zod schema, shared by client, service and worker. */

import { z } from "zod";
import { CachedSchema, CacheSchema } from "./cache.js";
import { FreeArraySchema, FreeObjectSchema } from "./free.js";
import { STATUSES } from "./statuses.js";

/** CHIME's Python client sends every unset optional field as null; null means absent here. */
function nullMeansAbsent<T extends z.ZodType>(schema: T) {
  return z.preprocess((value) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return value;
    // Copied only when there is a null to drop: most works have none.
    if (!hasNull(value)) return value;
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null));
  }, schema);
}

/** Without `Object.values`: it builds an array for every object parsed, nulls or not. */
function hasNull(value: object): boolean {
  for (const key in value) if ((value as Record<string, unknown>)[key] === null) return true;
  return false;
}

function boundedInt(field: string, min: number, max: number) {
  const range = `${field} must be between ${min} and ${max}`;
  return z
    .int({ error: `${field} must be an integer between ${min} and ${max}` })
    .min(min, { error: range })
    .max(max, { error: range });
}

const nonEmpty = (field: string) =>
  z.string({ error: `${field} must be a string` }).min(1, { error: `${field} must not be empty` });

export const StatusSchema = z.enum(STATUSES);
export type Status = z.infer<typeof StatusSchema>;

export const ARCHIVE_METHODS = ["bypass", "copy", "delete", "move"] as const;
export const ArchiveMethodSchema = z.enum(ARCHIVE_METHODS);

export const ArchiveSchema = nullMeansAbsent(
  z.strictObject({
    /** @defaultValue true */
    results: z.boolean().default(true),
    /** @defaultValue "copy" */
    products: ArchiveMethodSchema.default("copy"),
    /** @defaultValue "copy" */
    plots: ArchiveMethodSchema.default("copy"),
    /** Sent by CHIME's client; kept as given. */
    logs: ArchiveMethodSchema.optional(),
  }),
);

export const ConfigSchema = nullMeansAbsent(
  z.strictObject({
    archive: ArchiveSchema.default({ results: true, products: "copy", plots: "copy" }),
    parent: z.string().optional(),
    orgs: z.array(z.string()).optional(),
    teams: z.array(z.string()).optional(),
    /** Whether `site` must be one of the workspace's sites. Stays on the client. @defaultValue "strict" */
    strategy: z.enum(["strict", "relaxed"]).default("strict"),
    /** Sent by CHIME's client; kept as given. */
    metrics: z.boolean().optional(),
    /**
     * Results over the 4 MB cap: "warn" keeps the work's status and notes that they were dropped
     * (results.error, ps and show, /metrics); "fail" makes a succeeding attempt a failure.
     * @defaultValue "warn"
     */
    resultsOverCap: z.enum(["warn", "fail"]).optional(),
  }),
);
export type Config = z.infer<typeof ConfigSchema>;

export const SlackSchema = nullMeansAbsent(
  z.strictObject({
    channel_id: z.string().min(1).optional(),
    member_ids: z.array(z.string().min(1)).optional(),
    message: z.string().optional(),
    results: z.boolean().optional(),
    products: z.boolean().optional(),
    plots: z.boolean().optional(),
    blocks: FreeArraySchema.optional(),
    /** Slack's answer to the post, stored by the worker. */
    reply: FreeObjectSchema.optional(),
  }),
);
export type Slack = z.infer<typeof SlackSchema>;

export const NotifySchema = nullMeansAbsent(
  z.strictObject({
    slack: SlackSchema.default({}),
  }),
);
export type Notify = z.infer<typeof NotifySchema>;

/** The attempts a work's history keeps: the last ones. */
export const HISTORY_LIMIT = 20;

export const HistoryEntrySchema = z.object({
  attempt: z.int().min(1),
  worker: z.string().optional(),
  start: z.number().optional(),
  stop: z.number().optional(),
  /** How the attempt ended: a work status, or `expired` (its lease or deadline passed), or `released` (given back by its worker). */
  status: z.union([StatusSchema, z.literal("expired"), z.literal("released")]),
  error: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

/**
 * Stored in lowercase. `toLowerCase()` rather than a transform: a transform makes a pipe, which
 * more than doubled what an id cost to check, on every work deposited with one.
 */
export const ObjectIdSchema = z
  .string({ error: "id must be a string" })
  .regex(/^[0-9a-f]{24}$/i, { error: "id must be 24 hexadecimal characters" })
  .toLowerCase();

/** Letters, digits and `-`; 1 to 128 of them. */
export const PipelineSchema = z
  .string({ error: "pipeline must be a string" })
  .regex(/^[A-Za-z0-9-]{1,128}$/, {
    error: "pipeline must be 1 to 128 letters, digits or '-'",
  });

/** The longest function name the service stores. */
export const FUNCTION_MAX_LENGTH = 1024;

/** No NUL: no process can be started with one, so a work carrying it could never run. */
const withoutNul = (field: string) =>
  z.string({ error: `${field} must be a string` }).refine((value) => !value.includes("\0"), {
    error: `${field} must not contain a NUL byte`,
  });

/**
 * Any name a worker may know how to run: `./jobs/fit.js#fit` or `my-pkg#run` (Node), or
 * `pkg.module.func` (Python, as CHIME names functions). Only a worker decides whether it can.
 */
export const FunctionSchema = withoutNul("function")
  .min(1, { error: "function must not be empty" })
  .max(FUNCTION_MAX_LENGTH, {
    error: `function must be at most ${FUNCTION_MAX_LENGTH} characters`,
  });

/** The fields of a work; WorkSchema below adds the rules that span fields. */
export const WorkFieldsSchema = z.strictObject({
  pipeline: PipelineSchema,
  site: nonEmpty("site"),
  user: nonEmpty("user"),
  function: FunctionSchema.optional(),
  parameters: FreeObjectSchema.optional(),
  command: z
    .array(withoutNul("each command item"))
    .min(1, { error: "command must hold at least one item" })
    .optional(),
  results: FreeObjectSchema.optional(),
  products: z.array(z.string()).optional(),
  plots: z.array(z.string()).optional(),
  tags: z.array(z.string()).optional(),
  event: z.array(z.int()).optional(),
  id: ObjectIdSchema.optional(),
  /** Unix seconds (float). @defaultValue now */
  creation: z
    .number()
    .nonnegative()
    .default(() => Date.now() / 1000),
  start: z.number().nonnegative().optional(),
  stop: z.number().nonnegative().optional(),
  /** Set by the service at each withdraw; fences outcomes and heartbeats. @defaultValue 0 */
  attempt: z.int().min(0).default(0),
  /** Set by the service: one entry per attempt, the last HISTORY_LIMIT. */
  history: z.array(HistoryEntrySchema).max(HISTORY_LIMIT).optional(),
  /** @defaultValue "created" */
  status: StatusSchema.default("created"),
  /** Seconds. @defaultValue 3600 */
  timeout: boundedInt("timeout", 1, 259_200).default(3600),
  /** How many times a failed attempt is re-run. @defaultValue 2 */
  retries: boundedInt("retries", 0, 5).default(2),
  /** 5 runs first. @defaultValue 3 */
  priority: boundedInt("priority", 1, 5).default(3),
  config: ConfigSchema.default({
    archive: { results: true, products: "copy", plots: "copy" },
    strategy: "strict",
  }),
  notify: NotifySchema.default({ slack: {} }),
  /** Set by the worker: what archiving its products and plots could not do, for its last attempt. */
  archive: z
    .strictObject({
      errors: z.array(z.string().max(1000)).max(50),
      /** Path (as the work reported it) to the sha256 of each product and plot file archived. */
      digests: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)).optional(),
    })
    .optional(),
  /** What the work's code is at (a git sha, an image digest): part of its key. */
  version: z.string().min(1).max(256).optional(),
  /** Whether an earlier success with the same key may stand in for it (see cache-key.ts). */
  cache: CacheSchema.optional(),
  /** Set by the service when the work is queued: what it computes, as a digest (cache-key.ts). */
  key: z.string().optional(),
  /** Set by the service on a work answered from the cache. */
  cached: CachedSchema.optional(),
  /** Set by the service: when this success stopped standing in for works with its key. */
  keyExpired: z.number().optional(),
  /** Set by the service: when the running attempt's lease ends (unix seconds). */
  leaseUntil: z.number().optional(),
  /** Not withdrawn before this (unix seconds): a deposit for later. */
  notBefore: z.number().nonnegative().optional(),
  /** Set by the service on a failure with retries left: when it goes back to the queue. */
  retryAt: z.number().optional(),
  /** Set by the service: attempts that do not count against `retries` (released, or before a requeue). */
  uncounted: z.int().min(0).optional(),
  /** Set by the service: the step of the pipeline run the work belongs to. */
  step: z.string().optional(),
  /** Set by the service: the work's combination of its step's matrix. */
  matrix: FreeObjectSchema.optional(),
});

export const WorkSchema = nullMeansAbsent(
  WorkFieldsSchema.refine((work) => !(work.function !== undefined && work.command !== undefined), {
    error: "function and command are mutually exclusive: set one of them, not both",
    path: ["command"],
  }),
);

/**
 * Whether a failed attempt may run again: `retries` counts the attempts after the first, and
 * attempts a worker released (or made before the owner re-queued the work) do not count. The
 * service applies the same rule inside MongoDB (packages/buckets/src/store/attempt.ts).
 */
export function hasRetriesLeft(work: Pick<Work, "attempt" | "retries" | "uncounted">): boolean {
  return work.attempt - (work.uncounted ?? 0) <= work.retries;
}

/** A work as the caller writes it: only pipeline, site and user are required. */
export type WorkInput = z.input<typeof WorkFieldsSchema>;
/** A validated work with every default filled in. */
export type Work = z.output<typeof WorkSchema>;
