/** The store's claims: the queue's order, and claiming one or many works as conditional writes. */

import { HISTORY_LIMIT } from "@workflow/work";
import { type Collection, type Document, type Filter, ObjectId } from "mongodb";
import { TRANSITIONS } from "../machine.js";
import type { HeldBy, WorkDoc } from "./documents.js";
import { transitionUpdate } from "./transitions.js";

/** Who claims: the worker's self-description (for the attempt's history) and its claim. */
export interface Claimant {
  worker: string;
  claim: HeldBy;
}

export interface ClaimOptions {
  /** Unix seconds. */
  now: number;
  /**
   * Seconds the claim holds the work without a heartbeat (`?lease=S`). Without it, the claim holds
   * until start + timeout + grace: CHIME's worker never heartbeats.
   */
  lease?: number | undefined;
}

/**
 * Priority first, then the time the service received the work (a depositor's own `creation` is
 * theirs to set, so it cannot order the queue), then the id.
 */
export const CLAIM_SORT = { priority: -1, received: 1, _id: 1 } as const;

/**
 * The worker enforces a work's timeout itself (and needs a few seconds to kill and report). The
 * service ends the attempt this much later, for workers that died: the two never race.
 */
export const DEADLINE_GRACE_SECONDS = 30;

/** The filter every claim adds: queued, and not held back by a retry's backoff. */
export function claimable(filter: Filter<WorkDoc>, now: number): Filter<WorkDoc> {
  const [from] = TRANSITIONS.claim.from;
  return { ...filter, status: from, notBefore: { $lte: now } };
}

/**
 * The claim itself, as a pipeline update: attempt, lease and history derive from the document.
 * `worker` and `claim` are expressions: who claims is recorded in the attempt's history entry, and
 * the claim decides who may act for the attempt.
 */
function claimUpdate(
  { now, lease }: ClaimOptions,
  { worker, claim }: { worker: Document; claim: Document },
  token?: ObjectId,
): Document[] {
  const attempt = { $add: ["$attempt", 1] };
  const deadline = { $add: [now + DEADLINE_GRACE_SECONDS, "$timeout"] };
  // A work that runs again is no longer finished (no stop, no finishedAt): retention must not
  // count from its last stop. The batch's token stays until it is read back.
  return transitionUpdate("claim", {
    start: now,
    attempt,
    deadline,
    leaseUntil: lease === undefined ? deadline : { $min: [now + lease, deadline] },
    lease: lease ?? "$$REMOVE",
    history: {
      $slice: [
        {
          $concatArrays: [
            { $ifNull: ["$history", []] },
            [{ attempt, worker, start: now, status: "running" }],
          ],
        },
        -HISTORY_LIMIT,
      ],
    },
    claim,
    ...(token ? { claimToken: token } : {}),
  });
}

/** Claims the first matching work in claim order with one atomic findOneAndUpdate. */
export async function claimOne(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  { worker, claim }: Claimant,
  options: ClaimOptions,
): Promise<WorkDoc | null> {
  return collection.findOneAndUpdate(
    claimable(filter, options.now),
    claimUpdate(options, { worker: { $literal: worker }, claim: { $literal: claim } }),
    { sort: CLAIM_SORT, returnDocument: "after" },
  );
}

/**
 * Claims a work for each slot (`claimants[i]` claims slot i) in three round trips: read the first
 * candidates in claim order, claim those still queued with one updateMany (each document's update
 * is atomic, so a candidate another instance took meanwhile is skipped), then read back what this
 * call claimed. Answers one entry per candidate, in claim order: the work, or null when another
 * claim took it first. Fewer entries than slots means there were no more candidates.
 */
export async function claimMany(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  claimants: Claimant[],
  options: ClaimOptions,
): Promise<(WorkDoc | null)[]> {
  const candidates = await collection
    .find(claimable(filter, options.now), {
      projection: { _id: 1 },
      sort: CLAIM_SORT,
      limit: claimants.length,
    })
    .toArray();
  if (candidates.length === 0) return [];
  const ids = candidates.map((c) => c._id);
  const token = new ObjectId();
  // The claimer sends one pipeline per command: naming it keeps both writes on its shard.
  const pipeline = filter.pipeline === undefined ? {} : { pipeline: filter.pipeline };
  await collection.updateMany(
    claimable({ ...pipeline, _id: { $in: ids } } as Filter<WorkDoc>, options.now),
    claimUpdate(
      options,
      {
        worker: ofSlot(
          ids,
          claimants.map((c) => c.worker),
        ),
        claim: ofSlot(
          ids,
          claimants.map((c) => c.claim),
        ),
      },
      token,
    ),
  );
  const claimed = await collection
    .find({ ...pipeline, _id: { $in: ids }, claimToken: token } as Filter<WorkDoc>)
    .toArray();
  const byId = new Map(claimed.map((doc) => [doc._id.toHexString(), doc]));
  return ids.map((id) => byId.get(id.toHexString()) ?? null);
}

/** Candidate i gets `values[i]`: one expression names each document's own. */
function ofSlot(ids: ObjectId[], values: unknown[]): Document {
  const first = values[0];
  if (values.every((value) => value === first)) return { $literal: first };
  return {
    $arrayElemAt: [
      { $literal: values.slice(0, ids.length) },
      { $indexOfArray: [{ $literal: ids }, "$_id"] },
    ],
  };
}

/** Where a work stands in claim order, and its pipeline. */
export type Head = Pick<WorkDoc, "_id" | "pipeline" | "priority" | "received">;

/** The first `limit` claimable works of one pipeline's filter, in claim order; nothing is claimed. */
export function peek(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  now: number,
  limit: number,
): Promise<Head[]> {
  return collection
    .find(claimable(filter, now), {
      projection: { _id: 1, pipeline: 1, priority: 1, received: 1 },
      sort: CLAIM_SORT,
      limit,
    })
    .toArray() as Promise<Head[]>;
}
