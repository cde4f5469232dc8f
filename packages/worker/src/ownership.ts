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
 * The service says the attempt is not this worker's any more: another holds it (409) or the work
 * is gone (404). Whatever it did since must not be reported.
 */
export function notOurs(error: unknown): error is BucketsError {
  return error instanceof BucketsError && (error.status === 409 || error.status === 404);
}

/** The service refused the worker's token (401) or its scope (403): the worker cannot go on. */
export function isRefusal(error: unknown): error is BucketsError {
  return error instanceof BucketsError && (error.status === 401 || error.status === 403);
}
