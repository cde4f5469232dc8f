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

/** The most works one round trip claims; later requests wait for the next one. */
const MAX_SLOTS = 100;

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

/** Rounds of one lane in flight at once: the next round reads while this one writes. */
const DEPTH = 2;

/** The claims waiting and in flight for one filter on the same terms. */
interface Lane {
  key: string;
  query: Query;
  lease: number | undefined;
  waiting: Pending[];
  /** Rounds in flight. */
  rounds: number;
  /** Reads of candidates in flight: a new round starts only when none is. */
  reading: number;
  /** Candidates a round in flight is claiming (hex ids): later reads look past them. */
  claiming: Set<string>;
}

/**
 * Claims in claim order, one lane per filter in this instance. A claim that finds its lane idle
 * goes at once; those that arrive while its read is in flight wait, and the next round claims for
 * all of them in one batch. Concurrent workers then stop racing mongod for the same first
 * document, and the busier the queue, the fewer round trips each work costs. A round's write and
 * the next round's read overlap (DEPTH): the next round reads past the candidates being claimed.
 */
export function createClaimer(ctx: ServiceContext): Claimer {
  const lanes = new Map<string, Lane>();

  /** Starts the lane's next round when it may: requests wait, no read is in flight, DEPTH allows. */
  function pump(lane: Lane): void {
    if (lane.waiting.length === 0 || lane.reading > 0 || lane.rounds >= DEPTH) {
      if (lane.waiting.length === 0 && lane.rounds === 0) lanes.delete(lane.key);
      return;
    }
    const group = takeGroup(lane.waiting);
    lane.rounds++;
    void serve(lane, group)
      .then(
        () => {
          for (const pending of group) pending.done(pending.got);
        },
        (error: unknown) => {
          // A work already claimed is handed over; its lease covers it if the answer never arrives.
          for (const pending of group) {
            if (pending.got.length > 0) pending.done(pending.got);
            else pending.fail(error);
          }
        },
      )
      .finally(() => {
        lane.rounds--;
        pump(lane);
      });
  }

  /** `read` as the lane's read in flight: the next round starts once it is done. */
  async function reading<T>(lane: Lane, read: () => Promise<T>): Promise<T> {
    lane.reading++;
    try {
      return await read();
    } finally {
      lane.reading--;
      pump(lane);
    }
  }

  async function serve(lane: Lane, group: Pending[]): Promise<void> {
    const { query, lease } = lane;
    for (let round = 0; round < ROUNDS; round++) {
      const slots = group.flatMap((p) => Array<Pending>(p.count - p.got.length).fill(p));
      const options = { now: ctx.now(), lease };
      if (slots.length === 0) return;
      // The last round claims one work at a time: each findOneAndUpdate finds a work whenever one
      // is queued, so a batch that keeps losing to other instances still ends with its works.
      const docs =
        slots.length === 1 || round === ROUNDS - 1
          ? await reading(lane, () => claimEach(query, slots, options))
          : await claimBatch(lane, slots, options);
      docs.forEach((doc, i) => {
        const slot = slots[i];
        if (doc && slot) slot.got.push({ ...present(doc), claim: slot.secret });
      });
      // Fewer candidates than slots: the queue ran dry. All claimed: done. Else some were lost
      // to another instance, and there may be more.
      if (docs.length < slots.length || docs.every((doc) => doc !== null)) return;
    }
  }

  async function claimBatch(lane: Lane, slots: Pending[], options: ClaimOptions) {
    const ids = await reading(lane, async () => {
      const found = await ctx.store.candidates(lane.query, options.now, slots.length, [
        ...lane.claiming,
      ]);
      for (const id of found) lane.claiming.add(id);
      return found;
    });
    try {
      return await ctx.store.claimMany(
        lane.query,
        ids,
        slots.map((slot) => slot.claimant),
        options,
      );
    } finally {
      for (const id of ids) lane.claiming.delete(id);
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
      let lane = lanes.get(key);
      if (!lane) {
        lane = { key, query, lease, waiting: [], rounds: 0, reading: 0, claiming: new Set() };
        lanes.set(key, lane);
      }
      lane.waiting.push(pending);
      pump(lane);
    });
  };
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
