/** The store's reaper writes: lapsed attempts ended, failures re-queued, and CHIME's audits. */

import type { Collection, Document, Filter } from "mongodb";
import { TRANSITIONS } from "../machine.js";
import { ATTEMPT_FIELDS, closeCurrentEntry, RETRIES_LEFT, retryAtAfter } from "./attempt.js";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

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
  filter: Filter<WorkDoc>,
  now: number,
  reason: Document | string,
): Promise<Ended> {
  const end = [
    {
      $set: {
        status: "failure",
        stop: now,
        history: closeCurrentEntry(now, "expired", reason),
        retryAt: retryAtAfter(now),
      },
    },
    { $unset: [...ATTEMPT_FIELDS] },
  ];
  // $and, not a spread: `filter` may hold an $expr of its own.
  const running = (retries: Document): Filter<WorkDoc> => ({
    $and: [filter, { status: { $in: [...TRANSITIONS.lapse.from] } }, { $expr: retries }],
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
  return failRunning(collection, { leaseUntil: { $lt: now } }, now, reason);
}

/** CHIME's /audit/expired: running works past start + timeout, with no grace. */
export function auditExpired(
  collection: Collection<WorkDoc>,
  now: number,
  pipelines?: string[],
): Promise<Ended> {
  const past = { $expr: { $gt: [now, { $add: ["$start", "$timeout"] }] } };
  return failRunning(collection, { ...within(pipelines), ...past }, now, "timed out");
}

/** Failures whose retry is due (the reaper), or every failure with a retry to come (the audit). */
export async function requeueFailed(
  collection: Collection<WorkDoc>,
  due: { now: number } | { pipelines: string[] | undefined },
): Promise<number> {
  const retryAt = "now" in due ? { $lte: due.now } : { $exists: true };
  const scope = "now" in due ? {} : within(due.pipelines);
  const { modifiedCount } = await collection.updateMany(
    { ...scope, status: { $in: [...TRANSITIONS.retry.from] }, retryAt },
    { $set: { status: TRANSITIONS.retry.to, notBefore: 0 }, $unset: { retryAt: "" } },
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
  const unfinished = TRANSITIONS.auditStale.from.filter((s) => s !== "failure");
  const { modifiedCount } = await collection.updateMany(
    {
      ...within(pipelines),
      creation: { $lt: before },
      $or: [{ status: { $in: unfinished } }, { status: "failure", retryAt: { $exists: true } }],
    },
    [
      {
        $set: {
          status: TRANSITIONS.auditStale.to,
          stop: now,
          history: closeCurrentEntry(now, "failure", "stale: not finished in time", {
            $eq: ["$status", "running"],
          }),
        },
      },
      { $unset: [...ATTEMPT_FIELDS, "retryAt"] },
    ],
    scatter("the stale audit"),
  );
  return modifiedCount;
}
