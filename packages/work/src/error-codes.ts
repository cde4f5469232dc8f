/**
 * The error registry: every code the service answers with, one per cause, and the family each
 * belongs to. The service throws these codes and clients branch on them, so both read this one
 * list; the service maps each family to its HTTP status (packages/buckets/src/http/errors.ts), the
 * status a client that knows only statuses (CHIME's) branches on. Codes are stable; a retired code
 * is never reused.
 */

/** A family's code is also the code of a cause with no more particular name. */
export const ERROR_FAMILIES = [
  "invalid",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "too_large",
  "too_many_requests",
  "unavailable",
  "internal",
] as const;

export type ErrorFamily = (typeof ERROR_FAMILIES)[number];

interface Cause {
  family: ErrorFamily;
  /** What happened, and what the caller does about it: the README's table shows it. */
  means: string;
}

const SEVERAL =
  "refused for more than one reason of this family at once (a batch): `details.refused` names each item's code";

export const ERROR_CODES = {
  invalid: {
    family: "invalid",
    means: "the request is malformed or a value is out of range; the message names it",
  },
  site_refused: {
    family: "invalid",
    means: "the work names a site that this service does not run (its workspace's `sites`)",
  },
  unauthorized: { family: "unauthorized", means: "the token was refused" },
  token_missing: {
    family: "unauthorized",
    means: "no token: send `Authorization: Bearer <token>` or `x-access-token`",
  },
  token_invalid: {
    family: "unauthorized",
    means: "the token is malformed, badly signed or lacks its claims",
  },
  token_expired: { family: "unauthorized", means: "the token has expired: get a new one" },
  forbidden: { family: "forbidden", means: SEVERAL },
  scope_missing: { family: "forbidden", means: "the token lacks the scope this needs" },
  pipeline_refused: {
    family: "forbidden",
    means: "a pipeline is outside the token's `pipelines` (or the route covers every pipeline)",
  },
  not_owner: {
    family: "forbidden",
    means: "what is asked for belongs to another user: only its owner or an admin may",
  },
  field_refused: {
    family: "forbidden",
    means:
      "a PUT changes a field this token may not change (or that never changes); `details.field` names it",
  },
  token_too_wide: {
    family: "forbidden",
    means: "a minted token would have a scope, pipeline or lifetime the minting token lacks",
  },
  claim_lost: {
    family: "forbidden",
    means:
      "another worker claimed this attempt: only its claimer may report, heartbeat, release or log for it",
  },
  not_found: {
    family: "not_found",
    means: "no such work, run, schedule, config or result (or it is outside the token's pipelines)",
  },
  no_route: { family: "not_found", means: "no such route: see GET /openapi.json" },
  conflict: { family: "conflict", means: SEVERAL },
  attempt_stale: {
    family: "conflict",
    means:
      "the attempt named is not the work's running one any more: its worker stops and does not report",
  },
  already_reported: {
    family: "conflict",
    means: "the late outcome of a cancelled attempt was already recorded; it is recorded once",
  },
  wrong_status: {
    family: "conflict",
    means: "the work or run is in a status that does not allow this (the message says which)",
  },
  status_refused: {
    family: "conflict",
    means: "a PUT asks for a status that only the service sets (`running` comes of a claim)",
  },
  changed: {
    family: "conflict",
    means: "it changed while being written, or is being evaluated: read it again and retry",
  },
  id_taken: { family: "conflict", means: "a deposit names ids that other works already have" },
  name_taken: { family: "conflict", means: "you already have a schedule by that name" },
  unconfirmed: {
    family: "conflict",
    means: "more works match a bulk action than were confirmed: count again and confirm",
  },
  locked: { family: "conflict", means: "the results are locked: unlock them first" },
  minting_off: {
    family: "conflict",
    means: "this service only verifies tokens (it has the public key alone)",
  },
  too_large: { family: "too_large", means: "the request, or a work in it, is over a size limit" },
  answer_too_large: {
    family: "too_large",
    means: "the answer would be over its size limit: ask for fewer fields or works, and page",
  },
  too_many_requests: {
    family: "too_many_requests",
    means: "this token already waits or follows too much at once: retry after `Retry-After`",
  },
  unavailable: {
    family: "unavailable",
    means: "MongoDB, or room for one more waiter, is out for now: retry after `Retry-After`",
  },
  internal: {
    family: "internal",
    means: "the service failed; it logged the error with the request's id",
  },
} as const satisfies Record<string, Cause>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** The family of a code the service answers; undefined for one it does not know (a client's own). */
export const errorFamily = (code: string): ErrorFamily | undefined =>
  isErrorCode(code) ? ERROR_CODES[code].family : undefined;
