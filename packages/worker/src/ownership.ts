/**
 * Whether an attempt is still this worker's, decided in one place: the lease it was given, and
 * what the service answers when the attempt went to someone else or the work is gone.
 */
import { BucketsError, type StoredWork } from "@workflow/work";

/** The seconds a claim holds between heartbeats, as the service gave it; 0 when it set none. */
export function leaseSeconds(work: Pick<StoredWork, "leaseUntil" | "start">): number {
  return Math.max(0, (work.leaseUntil ?? 0) - (work.start ?? 0));
}

/**
 * The service's codes for "this attempt is not this worker's any more": it moved on (the lease
 * lapsed and the work went to another claim, or it ended), another worker claimed it, or the work
 * is gone. Whatever the worker did since must not be reported.
 */
export const NOT_OURS = ["attempt_stale", "claim_lost", "already_reported", "not_found"] as const;

/** The service's codes for a token that cannot serve: no worker with it can go on. */
export const REFUSED = [
  "unauthorized",
  "token_missing",
  "token_invalid",
  "token_expired",
  "scope_missing",
  "pipeline_refused",
] as const;

export function notOurs(error: unknown): error is BucketsError {
  return error instanceof BucketsError && error.is(...NOT_OURS);
}

/** The service refused the worker's token or its scope: the worker cannot go on. */
export function isRefusal(error: unknown): error is BucketsError {
  return error instanceof BucketsError && error.is(...REFUSED);
}
