/**
 * The bodies and parameters of the API's requests, shared by the service (which validates with
 * them), the client (which builds them) and the OpenAPI document. Those of /runs and of the cache
 * are in ./runs-requests.ts and ./cache-requests.ts.
 */

import { z } from "zod";
import { SECONDS_PER_DAY } from "./durations.js";
import { FreeObjectSchema } from "./free.js";
import { ObjectIdSchema, SlackSchema } from "./schema.js";
import { yesOrNo } from "./settings.js";

/**
 * The bodies and parameters of the API's requests, shared by the service (which validates with
 * them), the client (which builds them) and the OpenAPI document.
 */

/** The most works one withdraw claims. */
export const MAX_CLAIM_COUNT = 100;
/** The longest a withdraw long-polls, in seconds. */
export const MAX_WAIT_SECONDS = 30;
/** The longest lease a withdraw may ask for, in seconds (a day). */
export const MAX_LEASE_SECONDS = SECONDS_PER_DAY;
/** The most works a view answers at once. */
export const MAX_VIEW_LIMIT = 10_000;

/**
 * A yes/no query parameter (`?dry_run=true`, `?follow=1`): true, false, 1 or 0 in any case, as
 * CHIME's Python client sends `True`; absent or empty, no. Sent twice, yes when either is.
 */
export const QueryFlagSchema = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((raw, check) => {
    const values = [raw ?? []].flat().map((value) => (value === "" ? false : yesOrNo(value)));
    if (values.includes(undefined)) {
      check.addIssue({ code: "custom", message: `must be true, false, 1 or 0: got "${raw}"` });
      return z.NEVER;
    }
    return values.includes(true);
  });

/** `?count=N&wait=S&lease=S` on POST /work/withdraw. */
export const WithdrawParamsSchema = z.object({
  /** How many works to claim; the answer is then an array. */
  count: z.coerce.number().int().min(1).max(MAX_CLAIM_COUNT).optional(),
  /** Long-poll: seconds to wait for a work when none is queued. */
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
  /**
   * Seconds the claim holds without a heartbeat (`?lease` alone: the service's default). Without
   * it the claim holds until start + timeout (plus a grace): for workers that never heartbeat, as
   * CHIME's.
   */
  lease: z
    .preprocess(
      (value) => (value === "" || value === "true" ? true : value),
      z.union([z.literal(true), z.coerce.number().min(1).max(MAX_LEASE_SECONDS)]),
    )
    .optional(),
});
export type WithdrawParams = z.output<typeof WithdrawParamsSchema>;

/** The filter of POST /work/withdraw, as CHIME's worker sends it; the service allow-lists it. */
export const WithdrawFilterSchema = z.record(z.string(), z.unknown());
export type WithdrawFilter = z.input<typeof WithdrawFilterSchema>;

/**
 * A withdraw answers each claimed work with a `claim`: a secret that only its claimer knows. The
 * worker sends it back with everything it does for that attempt (as this header on heartbeats,
 * releases and log appends, as the `claim` field of its PUT /work items), and the service refuses
 * a secret that is not the attempt's. A client that sends none (CHIME's) is bound to its token's
 * subject instead.
 */
export const CLAIM_HEADER = "x-workflow-claim";
export const ClaimSecretSchema = z
  .string()
  .regex(/^[0-9a-f]{32}$/, { error: "a claim secret is the 32 hex digits withdraw answered" });

/**
 * `?attempt=N` on heartbeat, release and log appends: the attempt the caller holds; `pipeline`, the
 * work's, lets the service find it where it is kept (without it, it looks on every shard).
 */
export const AttemptParamsSchema = z.object({
  attempt: z.coerce
    .number({ error: "attempt is required: ?attempt=<the attempt you hold>" })
    .int()
    .min(1),
  pipeline: z.string().min(1).optional(),
});

/**
 * One item of PUT /work from a worker: the outcome of the attempt it holds. CHIME's worker sends
 * the whole work instead; fields equal to the stored ones are no change.
 */
export const OutcomeSchema = z.object({
  id: ObjectIdSchema,
  /** The work's pipeline: the service finds the work where it is kept (README, Sizing). */
  pipeline: z.string().min(1).optional(),
  attempt: z.int().min(1),
  /** The claim secret withdraw answered for this attempt. */
  claim: ClaimSecretSchema.optional(),
  /** `cancelled`: the worker stopped a work cancelled under it, and reports what it had. */
  status: z.enum(["success", "failure", "cancelled"]).optional(),
  stop: z.number().nonnegative().optional(),
  results: FreeObjectSchema.optional(),
  products: z.array(z.string()).optional(),
  plots: z.array(z.string()).optional(),
  notify: z.object({ slack: SlackSchema }).optional(),
});
export type OutcomeInput = z.input<typeof OutcomeSchema>;

/** How POST /view orders works. */
export const VIEW_ORDERS = ["id", "arrival"] as const;

/**
 * POST /view. Works come in id order. Page with `after` (the last id of the previous page): a page
 * never drifts while works arrive. `skip` stays for CHIME's client. Newest first: order "arrival".
 */
export const ViewRequestSchema = z.strictObject({
  query: z.record(z.string(), z.unknown()).nullish(),
  projection: z.record(z.string(), z.union([z.boolean(), z.literal(0), z.literal(1)])).nullish(),
  skip: z.int().min(0).max(1_000_000).nullish(),
  after: ObjectIdSchema.nullish(),
  /** @defaultValue 100 */
  limit: z.int().min(1).max(MAX_VIEW_LIMIT).nullish(),
  /**
   * "id": in id order, paged with `after` or `skip`. "arrival": newest first by when the service
   * received each work, which each work then carries as `arrived`, paged with `before`.
   * @defaultValue "id"
   */
  order: z.enum(VIEW_ORDERS).nullish(),
  /** With order "arrival": the works that arrived before this one (the last of a page). */
  before: z.strictObject({ arrived: z.number().nonnegative(), id: ObjectIdSchema }).nullish(),
});
export type ViewRequest = z.input<typeof ViewRequestSchema>;

/** POST /view/count. */
export const CountRequestSchema = z.strictObject({
  query: z.record(z.string(), z.unknown()).nullish(),
});

/** What a token may do; `metrics` only reads /metrics (for Prometheus). */
export const SCOPES = ["work:deposit", "work:withdraw", "work:read", "admin", "metrics"] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/** A token's lifetime: a number of seconds, with a unit (s, m, h, d, w, y), or "never". */
export const LIFETIME_PATTERN = /^(?:never|[1-9]\d{0,9}[smhdwy]?)$/;
export const LIFETIME_HELP = 'a lifetime looks like "30d", "12h", "3600" (seconds) or "never"';

/** POST /tokens: an admin mints a token no wider than its own. */
export const MintRequestSchema = z.strictObject({
  user: z.string().min(1),
  scopes: z.array(ScopeSchema).min(1),
  pipelines: z.array(z.string().min(1)).min(1).optional(),
  /**
   * A lifetime such as "30d", "12h", "3600" (seconds) or "never". @defaultValue "30d", or what is
   * left of the caller's own token when that is less
   */
  expiresIn: z.string().regex(LIFETIME_PATTERN, { error: LIFETIME_HELP }).optional(),
});
export type MintRequest = z.input<typeof MintRequestSchema>;
/** What POST /tokens answers: the token minted. */
export const MintAnswerSchema = z.strictObject({ token: z.string() });
export type MintAnswer = z.output<typeof MintAnswerSchema>;

/**
 * The most works one POST /work/bulk request acts on: a larger filter is done page after page,
 * each request resuming `after` the last work of the one before (its `next`).
 */
export const BULK_PAGE_WORKS = 1_000;
export const BULK_ACTIONS = ["retry", "cancel", "delete"] as const;

/**
 * POST /work/bulk: one action on the works a query matches, each through the same transition and
 * authorization as its one-work request, one page (BULK_PAGE_WORKS) at a time in id order.
 * `confirmed` is how many the caller was shown (POST /view/count), less those earlier pages
 * already took: when more works than that match past `after`, nothing is done.
 */
export const BulkRequestSchema = z.strictObject({
  query: z.record(z.string(), z.unknown()),
  action: z.enum(BULK_ACTIONS),
  confirmed: z.int().min(0),
  /** Carry on after this work: the `next` of the page before. */
  after: ObjectIdSchema.optional(),
});
export type BulkRequest = z.input<typeof BulkRequestSchema>;

/**
 * What one page of a bulk action did: `done` of the `matched` works of this page, the others
 * refused (the first few said why), and `next` when more may match past it.
 */
export const BulkResultSchema = z.strictObject({
  matched: z.int(),
  done: z.int(),
  refused: z.int(),
  reasons: z.array(z.strictObject({ id: z.string().optional(), message: z.string() })),
  /** The last work of this page when the page was full: send it as `after` for the next. */
  next: z.string().optional(),
});
export type BulkResult = z.output<typeof BulkResultSchema>;
