import { type BucketsClient, MAX_CLAIM_COUNT, type StoredWork } from "@workflow/work";
import type { Logger } from "./logger.js";
import { leaseSeconds } from "./ownership.js";

/**
 * How long a claim waits for more slots while works are still running here, counted from when
 * the first slot began to wait or the last claim came back, whichever is later. The slots of
 * short works free up one after another: claiming at once for the first would send a request for
 * one work while the others wait for its answer, then one for the rest, and so on in turn.
 */
const CLAIM_LINGER_MS = 20;

/**
 * Works are claimed ahead only while those run here take less than this on average. A slot of
 * short works would otherwise spend most of its time waiting for its next claim; a long work
 * gains nothing from it, and the work claimed ahead would wait, held from other workers.
 */
const AHEAD_BELOW_MS = 1_000;

/** At most this many works per busy slot are claimed ahead. */
const AHEAD_PER_SLOT = 8;

/**
 * A work claimed ahead that no slot took within this long (or a third of its lease, if shorter)
 * goes back to the queue: its first heartbeat must still come before its lease lapses.
 */
const AHEAD_MAX_WAIT_MS = 5_000;

/** What a slot gets: a work, null when none came within the long-poll, or why the claim failed. */
export type Taken = { work: StoredWork; claimedAt: number } | Error | null;

export interface ClaimsOptions {
  client: BucketsClient;
  /** The withdraw filter, in CHIME's shape. */
  filter: Record<string, unknown>;
  /** Seconds a withdraw long-polls, once the service has taken the token. */
  wait: number;
  /** `?lease`: seconds, or true for the service's default. */
  lease: number | true;
  /** Works to claim in all; -1 is no end. */
  lives: number;
  signal: AbortSignal;
  logger: Logger;
  /**
   * Called when the service first answers a claim (it took the worker's token), and again when
   * it answers one after claims failed, with how long they failed.
   */
  onConnected(outageMs?: number): Promise<void>;
}

export interface Claims {
  /** The next work for a slot. A slot given a work must call `finished` when it ends. */
  take(): Promise<Taken>;
  /** A slot's work ended after running `ms` milliseconds. */
  finished(ms: number): void;
  /** False once `lives` works have been claimed and none is left to hand out or on its way. */
  readonly open: boolean;
  /** Gives back to the queue the works claimed ahead that no slot took (at stop). */
  close(): Promise<void>;
}

/**
 * A worker's claims. Slots that wait for a work share one withdraw. While short works run, the
 * next ones are claimed before their slots free up (as Celery's prefetch and BullMQ's fetch of
 * the next job with the last one's completion do), so that a slot does not wait for a round trip
 * between two works.
 */
export function createClaims(options: ClaimsOptions): Claims {
  const { client, signal, logger } = options;
  /** Slots waiting for a work, and since when; one request claims for all of them at once. */
  const takers: { give: (got: Taken) => void; since: number }[] = [];
  /** Works claimed ahead, oldest first. */
  const ready: { work: StoredWork; claimedAt: number }[] = [];
  /** Slots running a work: they may join the next claim soon. */
  let executing = 0;
  let reserved = 0;
  let lingering: NodeJS.Timeout | undefined;
  /** The claim on its way, if any; true once it was sent. */
  let fetching: Promise<boolean> | undefined;
  let fetched = 0;
  let connected = false;
  /** When claims began to fail, while they do. */
  let failingSince: number | undefined;
  /** Set when a claim came back with fewer works than it asked for: no claiming ahead then. */
  let dry = false;
  /** How long the works here take, on a moving average; none before the first one ends. */
  let averageMs: number | undefined;
  /** How long a claim takes to come back, on a moving average. */
  let claimMs = 0;

  const left = () => (options.lives < 0 ? Number.POSITIVE_INFINITY : options.lives - reserved);

  /** Hands the first waiting slot what it gets; a slot given a work runs it from now on. */
  function give(got: Taken): void {
    const taker = takers.shift();
    if (taker && got && !(got instanceof Error)) executing++;
    taker?.give(got);
  }

  function tooOld({ work, claimedAt }: (typeof ready)[number]): boolean {
    const lease = leaseSeconds(work);
    const most = lease > 0 ? Math.min(AHEAD_MAX_WAIT_MS, (lease * 1000) / 3) : AHEAD_MAX_WAIT_MS;
    return Date.now() - claimedAt > most;
  }

  /** Works being given back: close() waits for them, so that none is left to its lease. */
  const givingBack = new Set<Promise<void>>();

  /** Releases a work claimed ahead: it did not run, so the attempt does not count. */
  function giveBack(work: StoredWork): void {
    reserved--;
    const released = release(work);
    givingBack.add(released);
    void released.finally(() => givingBack.delete(released));
  }

  async function release(work: StoredWork): Promise<void> {
    try {
      await client.release(work);
    } catch (error) {
      // Its lease ends the claim all the same, after which the work runs again.
      logger.warn(
        { work: work.id, reason: error instanceof Error ? error.message : String(error) },
        "could not give back a work claimed ahead; it runs again once its lease lapses",
      );
    }
  }

  function wantsAhead(): boolean {
    return (
      connected &&
      !dry &&
      ready.length === 0 &&
      executing > 0 &&
      averageMs !== undefined &&
      averageMs < AHEAD_BELOW_MS &&
      !signal.aborted
    );
  }

  /**
   * As many works as the busy slots will finish while the claim is on its way, and at least one
   * each: the slots then find their next works waiting when they free up.
   */
  function aheadCount(): number {
    const perSlot = Math.min(AHEAD_PER_SLOT, Math.max(1, claimMs / (averageMs ?? claimMs)));
    return Math.ceil(executing * perSlot);
  }

  async function pump(): Promise<void> {
    if (fetching) return;
    fetching = claim();
    const sent = await fetching;
    fetching = undefined;
    if (sent) void pump();
  }

  /**
   * Sends the claim that the waiting slots, or the busy ones, call for, if one is due yet.
   * Answers whether it sent one.
   */
  async function claim(): Promise<boolean> {
    const ahead = takers.length === 0;
    if (ahead && !wantsAhead()) return false;
    const count = Math.min(ahead ? aheadCount() : takers.length, MAX_CLAIM_COUNT, left());
    if (count <= 0) {
      while (takers.length > 0) give(null);
      return false;
    }
    const wait = Math.max(takers[0]?.since ?? 0, fetched) + CLAIM_LINGER_MS - Date.now();
    if (
      !ahead &&
      executing > 0 &&
      count < Math.min(MAX_CLAIM_COUNT, left()) &&
      wait > 0 &&
      !signal.aborted
    ) {
      lingering ??= setTimeout(() => {
        lingering = undefined;
        void pump();
      }, wait);
      return false;
    }
    clearTimeout(lingering);
    lingering = undefined;
    reserved += count;
    const sent = Date.now();
    try {
      const works = await client.withdraw(options.filter, {
        count,
        // The first claim does not wait: it says at once whether the service takes the token. A
        // claim ahead does not wait either: slots are busy, and an empty queue is news enough.
        wait: connected && !ahead ? options.wait : 0,
        lease: options.lease,
        // A stop ends a long-poll at once. A claim ahead comes back quickly: the works it brings
        // are given back by close(), where an aborted request would leave them to their lease.
        ...(ahead ? {} : { signal }),
      });
      reserved -= count - works.length;
      dry = works.length < count;
      // A long-poll's wait is the queue's, not the claim's.
      if (!dry) claimMs = 0.8 * claimMs + 0.2 * (Date.now() - sent);
      if (!connected) {
        connected = true;
        failingSince = undefined;
        await options.onConnected();
      } else if (failingSince !== undefined) {
        const outageMs = Date.now() - failingSince;
        failingSince = undefined;
        await options.onConnected(outageMs);
      }
      const claimedAt = Date.now();
      for (const work of works) {
        if (takers.length > 0) give({ work, claimedAt });
        else ready.push({ work, claimedAt });
      }
      if (works.length === 0) while (takers.length > 0) give(null);
    } catch (error) {
      reserved -= count;
      failingSince ??= Date.now();
      while (takers.length > 0) give(error as Error);
    } finally {
      fetched = Date.now();
    }
    return true;
  }

  return {
    take() {
      for (let next = ready.shift(); next; next = ready.shift()) {
        if (tooOld(next) || signal.aborted) {
          giveBack(next.work);
          continue;
        }
        executing++;
        void pump();
        return Promise.resolve(next);
      }
      return new Promise((resolve) => {
        takers.push({ give: resolve, since: Date.now() });
        void pump();
      });
    },
    finished(ms) {
      executing--;
      averageMs = averageMs === undefined ? ms : 0.8 * averageMs + 0.2 * ms;
    },
    get open() {
      return left() > 0 || ready.length > 0 || fetching !== undefined;
    },
    async close() {
      clearTimeout(lingering);
      await fetching;
      for (const { work } of ready.splice(0)) giveBack(work);
      await Promise.all(givingBack);
    },
  };
}
