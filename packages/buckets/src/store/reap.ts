/** The store's reaper writes: lapsed attempts ended, failures re-queued, and CHIME's audits. */

import type { Collection, Document, Filter } from "mongodb";
import { closeCurrentEntry, RETRIES_LEFT, retryAtAfter } from "./attempt.js";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";
import { fromFilter, transitionUpdate } from "./transitions.js";

/** What one pass over running works failed: `retrying` of them have a retry to come. */
export interface Ended {
  retrying: number;
  final: number;
}

/** Limits an audit to some pipelines (a token's), or none. */
const within = (pipelines: string[] | undefined): Filter<WorkDoc> =>
  pipelines ? { pipeline: { $in: pipelines } } : {};

/**
 * Fails running attempts matching `filter`: with a `retryAt` while retries are left, else for good.
 * Two conditional updateMany (so the counts split), each applied once whatever the instances.
 */
async function failRunning(
  collection: Collection<WorkDoc>,
  transition: "lapse" | "auditExpired",
  filter: Filter<WorkDoc>,
  now: number,
  reason: Document | string,
): Promise<Ended> {
  const end = transitionUpdate(transition, {
    stop: now,
    history: closeCurrentEntry(now, "expired", reason),
    retryAt: retryAtAfter(now),
  });
  // $and, not a spread: `filter` may hold an $expr of its own.
  const running = (retries: Document): Filter<WorkDoc> => ({
    $and: [filter, fromFilter(transition), { $expr: retries }],
  });
  const every = scatter("the reaper's and audits' ends of running works");
  const retrying = await collection.updateMany(running(RETRIES_LEFT), end, every);
  const final = await collection.updateMany(running({ $not: [RETRIES_LEFT] }), end, every);
  return { retrying: retrying.modifiedCount, final: final.modifiedCount };
}

/** The reaper: leases that ended without a heartbeat, and claims held past their deadline. */
export function lapse(collection: Collection<WorkDoc>, now: number): Promise<Ended> {
  const reason = {
    $cond: [
      { $gte: [now, { $ifNull: ["$deadline", Number.POSITIVE_INFINITY] }] },
      "timed out",
      "lease expired: the worker went silent",
    ],
  };
  return failRunning(collection, "lapse", { leaseUntil: { $lt: now } }, now, reason);
}

/** CHIME's /audit/expired: running works past start + timeout, with no grace. */
export function auditExpired(
  collection: Collection<WorkDoc>,
  now: number,
  pipelines?: string[],
): Promise<Ended> {
  const past = { $expr: { $gt: [now, { $add: ["$start", "$timeout"] }] } };
  return failRunning(
    collection,
    "auditExpired",
    { ...within(pipelines), ...past },
    now,
    "timed out",
  );
}

/** Failures whose retry is due (the reaper), or every failure with a retry to come (the audit). */
export async function requeueFailed(
  collection: Collection<WorkDoc>,
  due: { now: number } | { pipelines: string[] | undefined },
): Promise<number> {
  const [transition, filter] =
    "now" in due
      ? (["retry", { ...fromFilter("retry"), retryAt: { $lte: due.now } }] as const)
      : (["auditFailed", { ...within(due.pipelines), ...fromFilter("auditFailed") }] as const);
  const { modifiedCount } = await collection.updateMany(
    filter,
    transitionUpdate(transition, { notBefore: 0 }),
    scatter("the reaper's and audits' retries"),
  );
  return modifiedCount;
}

/** CHIME's /audit/stale: unfinished works created before `before` fail for good. */
export async function auditStale(
  collection: Collection<WorkDoc>,
  before: number,
  now: number,
  pipelines?: string[],
): Promise<number> {
  const { modifiedCount } = await collection.updateMany(
    { ...within(pipelines), creation: { $lt: before }, ...fromFilter("auditStale") },
    transitionUpdate("auditStale", {
      stop: now,
      history: closeCurrentEntry(now, "failure", "stale: not finished in time", {
        $eq: ["$status", "running"],
      }),
    }),
    scatter("the stale audit"),
  );
  return modifiedCount;
}
