/** Claims works for waiting withdraws, several requests' claims in one round trip. */

import {
  type Claimant,
  type ClaimOptions,
  present,
  type Query,
  type WorkDoc,
  type WorkView,
} from "../store/index.js";
import { newClaim } from "./claimant.js";
import type { ServiceContext } from "./context.js";

/** The most works one round claims; later requests wait for the next one. */
const MAX_SLOTS = 100;

/**
 * A lane that last had several requests at once waits this long at most for as many to come back
 * before its next round: concurrent workers come back one by one as their answers reach them, and
 * a round that went with the first would make the rest wait for it.
 */
const LINGER_MS = 2;

/** A claim beaten by another instance to some candidates goes again, this many times at most. */
const ROUNDS = 3;

export interface ClaimRequest {
  /** How many works to claim, 1 to 100. */
  count: number;
  /** Who claims, from the X-Worker-Id header. */
  worker: string;
  /** The claiming token's subject: only it may act for the attempts it claims. */
  sub: string;
  /** Seconds the claim holds without a heartbeat; none for workers that never heartbeat. */
  lease?: number | undefined;
}

interface Pending extends ClaimRequest {
  claimant: Claimant;
  /** The claim secret its works are answered with (the store keeps its digest). */
  secret: string;
  got: WorkView[];
  done: (works: WorkView[]) => void;
  fail: (error: unknown) => void;
}

export type Claimer = (query: Query, request: ClaimRequest) => Promise<WorkView[]>;

/** The requests waiting on one filter, and how many it last had at once. */
interface Lane {
  waiting: Pending[];
  /** Requests served by the last round and waiting at its end: the workers claiming together. */
  demand: number;
  /** Told of each request that joins while the lane lingers. */
  joined?: (() => void) | undefined;
}

/**
 * Claims in claim order, one lane per filter in this instance. A claim that finds its lane idle
 * goes at once; those that arrive while it is in flight wait, and the next round claims for all of
 * them in one batch (after LINGER_MS at most, when the lane had more at once before). Concurrent
 * workers then stop racing mongod for the same first document, and the busier the queue, the
 * fewer round trips each work costs.
 */
export function createClaimer(ctx: ServiceContext): Claimer {
  const lanes = new Map<string, Lane>();

  async function drain(
    key: string,
    query: Query,
    lease: number | undefined,
    lane: Lane,
  ): Promise<void> {
    for (;;) {
      if (lane.demand > 1 && !ready(lane)) await linger(lane);
      if (lane.waiting.length === 0) break;
      const group = takeGroup(lane.waiting);
      try {
        await serve(query, group, lease);
        for (const pending of group) pending.done(pending.got);
      } catch (error) {
        // A work already claimed is handed over; its lease covers it if the answer never arrives.
        for (const pending of group) {
          if (pending.got.length > 0) pending.done(pending.got);
          else pending.fail(error);
        }
      }
      lane.demand = group.length + lane.waiting.length;
    }
    lanes.delete(key);
  }

  async function serve(query: Query, group: Pending[], lease: number | undefined): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const slots = group.flatMap((p) => Array<Pending>(p.count - p.got.length).fill(p));
      const options = { now: ctx.now(), lease };
      const [first] = slots;
      if (!first) return;
      // The last round claims one work at a time: each findOneAndUpdate finds a work whenever one
      // is queued, so a batch that keeps losing to other instances still ends with its works.
      const docs =
        slots.length === 1 || round === ROUNDS - 1
          ? await claimEach(query, slots, options)
          : await ctx.store.claimMany(
              query,
              slots.map((slot) => slot.claimant),
              options,
            );
      docs.forEach((doc, i) => {
        const slot = slots[i];
        if (doc && slot) slot.got.push({ ...present(doc), claim: slot.secret });
      });
      // Fewer candidates than slots: the queue ran dry. All claimed: done. Else some were lost
      // to another instance, and there may be more.
      if (docs.length < slots.length || docs.every((doc) => doc !== null)) return;
    }
  }

  async function claimEach(query: Query, slots: Pending[], options: ClaimOptions) {
    const docs: WorkDoc[] = [];
    for (const slot of slots) {
      const doc = await ctx.store.claim(query, slot.claimant, options);
      if (!doc) break;
      docs.push(doc);
    }
    return docs;
  }

  return (query, { count, worker, sub, lease }) => {
    const stop = ctx.metrics.claimDuration.startTimer();
    const { secret, claim } = newClaim(sub);
    return new Promise<WorkView[]>((resolve, reject) => {
      const pending: Pending = {
        count,
        worker,
        sub,
        claimant: { worker, claim },
        secret,
        got: [],
        done: (works) => {
          stop();
          ctx.metrics.claims.inc(works.length);
          resolve(works);
        },
        fail: reject,
      };
      // Claims share a batch only when they ask for the same works on the same terms.
      const key = `${lease ?? ""}|${JSON.stringify(query)}`;
      const lane = lanes.get(key);
      if (lane) {
        lane.waiting.push(pending);
        lane.joined?.();
      } else {
        const fresh: Lane = { waiting: [pending], demand: 0 };
        lanes.set(key, fresh);
        void drain(key, query, lease, fresh);
      }
    });
  };
}

/** Whether a lane's next round should go now: it has all it may wait for, or a round's worth. */
function ready(lane: Lane): boolean {
  if (lane.waiting.length >= lane.demand) return true;
  let slots = 0;
  for (const pending of lane.waiting) slots += pending.count;
  return slots >= MAX_SLOTS;
}

/**
 * Until as many requests wait as the lane last had at once, a round's worth of works wait, or
 * LINGER_MS have passed and the requests that arrived meanwhile have been read.
 */
function linger(lane: Lane): Promise<void> {
  return new Promise((resolve) => {
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      lane.joined = undefined;
      resolve();
    };
    // After the timer, one turn of the event loop: answers written since may have brought requests
    // back that are read only then.
    const timer = setTimeout(() => setImmediate(end), LINGER_MS);
    lane.joined = () => {
      if (ready(lane)) end();
    };
  });
}

/** The first waiting requests, up to MAX_SLOTS works between them (always at least one request). */
function takeGroup(lane: Pending[]): Pending[] {
  let slots = 0;
  let taken = 0;
  while (taken < lane.length) {
    const next = lane[taken] as Pending;
    if (taken > 0 && slots + next.count > MAX_SLOTS) break;
    slots += next.count;
    taken++;
  }
  return lane.splice(0, taken);
}
