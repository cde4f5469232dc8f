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

/** A batch claim whose writes are done; what it claimed is still being read back. */
export interface BatchClaim {
  /** How many of the candidates this claim took; the others went to another claim first. */
  claimed: number;
  /** One entry per candidate, in their order: the work, or null when another claim took it. */
  docs: Promise<(WorkDoc | null)[]>;
}

/**
 * Claims candidates (found by `peek`) for their slots, `claimants[i]` for `ids[i]`: those still
 * queued with one updateMany (each document's update is atomic, so a candidate another claim took
 * meanwhile is skipped), then reads back what this call claimed. Answers once the write is done,
 * with the reading under way: the next claim needs only the write, so it need not wait for it.
 */
export async function claimMany(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  ids: ObjectId[],
  claimants: Claimant[],
  options: ClaimOptions,
): Promise<BatchClaim> {
  const token = new ObjectId();
  // The claimer sends one pipeline per command: naming it keeps both writes on its shard.
  const pipeline = filter.pipeline === undefined ? {} : { pipeline: filter.pipeline };
  const { modifiedCount } = await collection.updateMany(
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
  const docs = collection
    .find({ ...pipeline, _id: { $in: ids }, claimToken: token } as Filter<WorkDoc>)
    .toArray()
    .then((claimed) => {
      const byId = new Map(claimed.map((doc) => [doc._id.toHexString(), doc]));
      return ids.map((id) => byId.get(id.toHexString()) ?? null);
    });
  return { claimed: modifiedCount, docs };
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

/**
 * The first `limit` claimable works of one pipeline's filter in claim order, but for `besides`
 * (works being claimed already); nothing is claimed.
 */
export function peek(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  now: number,
  limit: number,
  besides: ObjectId[] = [],
): Promise<Head[]> {
  // Added to the filter's own conditions, never in place of one it has on `_id`.
  const among =
    besides.length > 0
      ? { ...filter, $and: [...(filter.$and ?? []), { _id: { $nin: besides } }] }
      : filter;
  return collection
    .find(claimable(among, now), {
      projection: { _id: 1, pipeline: 1, priority: 1, received: 1 },
      sort: CLAIM_SORT,
      limit,
    })
    .toArray() as Promise<Head[]>;
}
