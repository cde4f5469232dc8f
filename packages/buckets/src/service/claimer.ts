/** Claims works for waiting withdraws, several requests' claims in one round trip. */

import {
  type BatchClaim,
  type Claimant,
  type ClaimOptions,
  type ObjectId,
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
  /** Candidates of rounds whose writes are not done: the next round looks past them. */
  claiming: Set<ObjectId>;
}

/** One round's progress. */
interface Round {
  /** Its candidates are known (the next round may look past them). */
  found: Promise<void>;
  /** No more of its writes are to come. */
  written: Promise<void>;
  /** Its works are read back and handed to their slots; rejects with what failed. */
  read: Promise<void>;
}

/**
 * Claims in claim order, one lane per filter in this instance. A claim that finds its lane idle
 * goes at once; those that arrive while it is in flight wait, and the next round claims for all of
 * them in one batch (after LINGER_MS at most, when the lane had more at once before). Concurrent
 * workers then stop racing mongod for the same first document, and the busier the queue, the
 * fewer round trips each work costs. When a full round waits, it looks for its candidates (past
 * those being claimed) while the round before it writes: mongod reads and writes at once.
 */
export function createClaimer(ctx: ServiceContext): Claimer {
  const lanes = new Map<string, Lane>();

  async function drain(
    key: string,
    query: Query,
    lease: number | undefined,
    lane: Lane,
  ): Promise<void> {
    // The last round's answers (a lane lingers for its workers only once they are answered) and
    // writes (the lane ends only when none are left in flight).
    let answered = Promise.resolve();
    let written = Promise.resolve();
    for (;;) {
      if (lane.demand > 1 && !ready(lane)) {
        await answered;
        if (!ready(lane)) await linger(lane);
      }
      if (lane.waiting.length === 0) {
        await written;
        if (lane.waiting.length === 0) break;
        continue;
      }
      const group = takeGroup(lane.waiting);
      const before = written;
      const round = serve(query, group, lease, lane);
      answered = round.read.then(
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
      );
      written = round.written;
      // With a full round waiting, the next one looks for its candidates while this one writes
      // (one write in flight besides); else it goes when this one's writes are done.
      await round.found;
      await (slotsWaiting(lane) >= MAX_SLOTS ? before : round.written);
      lane.demand = group.length + lane.waiting.length;
    }
    lanes.delete(key);
  }

  /** A round for the group: told when its candidates are found and its writes done. */
  function serve(query: Query, group: Pending[], lease: number | undefined, lane: Lane): Round {
    const found = latch();
    const written = latch();
    const read = claimFor(query, group, lease, lane, found.open, written.open).finally(() => {
      found.open();
      written.open();
    });
    return { found: found.promise, written: written.promise, read };
  }

  /** Claims the group's works; resolves when they are read back. */
  async function claimFor(
    query: Query,
    group: Pending[],
    lease: number | undefined,
    lane: Lane,
    found: () => void,
    written: () => void,
  ): Promise<void> {
    for (let round = 0; round < ROUNDS; round++) {
      const slots = group.flatMap((p) => Array<Pending>(p.count - p.got.length).fill(p));
      const options = { now: ctx.now(), lease };
      if (slots.length === 0) return;
      // The last round claims one work at a time: each findOneAndUpdate finds a work whenever one
      // is queued, so a batch that keeps losing to other claims still ends with its works.
      if (slots.length === 1 || round === ROUNDS - 1) {
        hand(slots, await claimEach(query, slots, options));
        return;
      }
      const heads = await ctx.store.peek(query, options.now, slots.length, [...lane.claiming]);
      const ids = heads.map((head) => head._id);
      for (const id of ids) lane.claiming.add(id);
      found();
      if (ids.length === 0) return;
      let batch: BatchClaim;
      try {
        batch = await ctx.store.claimMany(
          query,
          ids,
          slots.map((slot) => slot.claimant),
          options,
        );
      } finally {
        for (const id of ids) lane.claiming.delete(id);
      }
      const read = batch.docs.then((docs) => hand(slots, docs));
      // All claimed, or the queue ran dry: no more to claim. Else some were lost to another
      // claim, and the next round claims for the rest once this one's are known.
      if (batch.claimed === ids.length || ids.length < slots.length) {
        written();
        return read;
      }
      await read;
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
        const fresh: Lane = { waiting: [pending], demand: 0, claiming: new Set() };
        lanes.set(key, fresh);
        void drain(key, query, lease, fresh);
      }
    });
  };
}

/** Slot i gets the i-th work claimed, if any. */
function hand(slots: Pending[], docs: (WorkDoc | null)[]): void {
  docs.forEach((doc, i) => {
    const slot = slots[i];
    if (doc && slot) slot.got.push({ ...present(doc), claim: slot.secret });
  });
}

/** Whether a lane's next round should go now: it has all it may wait for, or a round's worth. */
function ready(lane: Lane): boolean {
  return lane.waiting.length >= lane.demand || slotsWaiting(lane) >= MAX_SLOTS;
}

/** The works the lane's waiting requests ask for. */
function slotsWaiting(lane: Lane): number {
  let slots = 0;
  for (const pending of lane.waiting) slots += pending.count;
  return slots;
}

/** A promise and what resolves it. */
function latch(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
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
