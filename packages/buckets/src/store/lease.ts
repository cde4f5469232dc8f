/**
 * The store's fenced writes of a running attempt: heartbeat and release, and why one found nothing.
 */

import type { Collection, ObjectId } from "mongodb";
import { closeCurrentEntry } from "./attempt.js";
import { type Holder, heldByFilter, isHeldBy, type WorkDoc } from "./documents.js";
import { fromFilter, transitionUpdate } from "./transitions.js";

/**
 * Why a fenced write found nothing to change: the work as it is now, or nothing. `foreign`: the
 * attempt is current, but someone else claimed it.
 */
export type Missed =
  | { kind: "missing" }
  | {
      kind: "moved" | "foreign";
      attempt: number;
      status: WorkDoc["status"];
      pipeline: string;
    };

/** A work by its id and its pipeline (the shard key: README, Sizing). */
export interface Located {
  _id: ObjectId;
  pipeline: string;
}

export type HeartbeatResult = { kind: "extended" } | { kind: "cancelled" } | Missed;

/** What the work is now, after a write fenced by `attempt` and `holder` missed it. */
export async function whyMissed(
  collection: Collection<WorkDoc>,
  { _id, pipeline }: Located,
  attempt: number,
  holder: Holder,
): Promise<Missed> {
  const doc = await collection.findOne(
    { _id, pipeline },
    { projection: { attempt: 1, status: 1, pipeline: 1, claim: 1 } },
  );
  if (!doc) return { kind: "missing" };
  const foreign = doc.attempt === attempt && !isHeldBy(doc.claim, holder);
  const kind = foreign ? "foreign" : "moved";
  return { kind, attempt: doc.attempt, status: doc.status, pipeline: doc.pipeline };
}

/**
 * Extends attempt `attempt`'s lease by the seconds it was claimed with, never past its deadline.
 * A claim made without a lease keeps its deadline: the heartbeat only answers.
 */
export async function heartbeat(
  collection: Collection<WorkDoc>,
  work: Located,
  attempt: number,
  now: number,
  holder: Holder,
): Promise<HeartbeatResult> {
  const extended = await collection.updateOne(
    { ...work, attempt, ...fromFilter("heartbeat"), ...heldByFilter(holder) },
    transitionUpdate("heartbeat", {
      leaseUntil: {
        $cond: [
          { $gt: ["$lease", 0] },
          { $min: [{ $add: [now, "$lease"] }, "$deadline"] },
          "$leaseUntil",
        ],
      },
    }),
  );
  if (extended.matchedCount === 1) return { kind: "extended" };
  const missed = await whyMissed(collection, work, attempt, holder);
  if (missed.kind === "moved" && missed.attempt === attempt && missed.status === "cancelled") {
    return { kind: "cancelled" };
  }
  return missed;
}

/** Puts attempt `attempt` back in the queue; it does not count against the work's retries. */
export async function release(
  collection: Collection<WorkDoc>,
  work: Located,
  attempt: number,
  now: number,
  holder: Holder,
): Promise<Missed | undefined> {
  const released = await collection.updateOne(
    { ...work, attempt, ...fromFilter("release"), ...heldByFilter(holder) },
    transitionUpdate("release", {
      stop: now,
      notBefore: 0,
      uncounted: { $add: [{ $ifNull: ["$uncounted", 0] }, 1] },
      history: closeCurrentEntry(now, "released"),
    }),
  );
  return released.matchedCount === 1 ? undefined : whyMissed(collection, work, attempt, holder);
}
