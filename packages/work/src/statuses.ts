/**
 * A work's statuses. Imports nothing, so that the dashboard's bundle can share them without zod.
 * `waiting` and `skipped` belong to pipeline steps: a step waits for its needs, or is skipped.
 */

export const STATUSES = [
  "created",
  "waiting",
  "queued",
  "running",
  "success",
  "failure",
  "skipped",
  "cancelled",
] as const;

/** The statuses a work has not finished in. */
export const UNFINISHED_STATUSES = ["created", "waiting", "queued", "running"] as const;

/**
 * The statuses a work may be cancelled in (the service's transition table, `cancel`): a failure
 * only while a retry is ahead of it. The dashboard offers its Cancel button by them.
 */
export const CANCELLABLE_STATUSES = [...UNFINISHED_STATUSES, "failure"] as const;

/** Whether a work may be cancelled now: a failure only while it awaits a retry (a `retryAt`). */
export function isCancellable(work: { status: string; retryAt?: number | undefined }): boolean {
  if (!(CANCELLABLE_STATUSES as readonly string[]).includes(work.status)) return false;
  return work.status !== "failure" || work.retryAt !== undefined;
}

/**
 * The statuses a work may be sent back to the queue from (`requeue`, `rerun`): the finished ones.
 * The dashboard offers its Retry button by them.
 */
export const REQUEUABLE_STATUSES = ["success", "failure", "skipped", "cancelled"] as const;

/**
 * The statuses a work can end in; a failure is over only once no retry is ahead of it. In this
 * order because the retention index's filter lists them so.
 */
export const FINISHED_STATUSES = ["success", "failure", "cancelled", "skipped"] as const;

/**
 * A pipeline run's statuses: `timedout` is a run whose config's `timeout` passed before its steps
 * all ended (its unfinished works were cancelled then).
 */
export const RUN_STATUSES = ["running", "success", "failure", "cancelled", "timedout"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
