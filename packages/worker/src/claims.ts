/**
 * A worker's claims: the slots that wait for a work share one withdraw, and works are claimed
 * ahead while short ones run. When to claim and how many is claim-plan.ts's decision; this object
 * owns the state it decides on and carries the decision out.
 */
import type { BucketsClient, StoredWork } from "@workflow/work";
import { planClaim, waitedTooLong } from "./claim-plan.js";
import type { Logger } from "./logger.js";

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
  return new WorkerClaims(options);
}

type Claimed = { work: StoredWork; claimedAt: number };

/** How fast works run here and claims come back: what claiming ahead is sized by. */
class Pace {
  /** How long the works here take, on a moving average; none before the first one ends. */
  averageMs: number | undefined;
  /** How long a claim takes to come back, on a moving average. */
  claimMs = 0;
  /** Set when a claim came back with fewer works than it asked for: no claiming ahead then. */
  dry = false;

  finished(ms: number): void {
    this.averageMs = this.averageMs === undefined ? ms : 0.8 * this.averageMs + 0.2 * ms;
  }

  claimed(asked: number, got: number, ms: number): void {
    this.dry = got < asked;
    // A long-poll's wait is the queue's, not the claim's.
    if (!this.dry) this.claimMs = 0.8 * this.claimMs + 0.2 * ms;
  }
}

class WorkerClaims implements Claims {
  readonly #options: ClaimsOptions;
  /** Slots waiting for a work, and since when; one request claims for all of them at once. */
  readonly #waiting: { give: (got: Taken) => void; since: number }[] = [];
  /** Slots running a work: they may join the next claim soon. */
  #executing = 0;
  /** Works claimed ahead, oldest first. */
  readonly #ready: Claimed[] = [];
  /** Works claimed (or being claimed) against `lives`. */
  #reserved = 0;
  /** Works being given back: close() waits for them, so that none is left to its lease. */
  readonly #givingBack = new Set<Promise<void>>();
  /** The claim on its way, if any; true once it was sent. */
  #fetching: Promise<boolean> | undefined;
  #lingering: NodeJS.Timeout | undefined;
  #lastClaimAt = 0;
  #connected = false;
  /** When claims began to fail, while they do. */
  #failingSince: number | undefined;
  readonly #pace = new Pace();

  constructor(options: ClaimsOptions) {
    this.#options = options;
  }

  take(): Promise<Taken> {
    for (let next = this.#ready.shift(); next; next = this.#ready.shift()) {
      if (waitedTooLong(next.work, next.claimedAt, Date.now()) || this.#options.signal.aborted) {
        this.#giveBack(next.work);
        continue;
      }
      this.#executing++;
      void this.#pump();
      return Promise.resolve(next);
    }
    return new Promise((resolve) => {
      this.#waiting.push({ give: resolve, since: Date.now() });
      void this.#pump();
    });
  }

  finished(ms: number): void {
    this.#executing--;
    this.#pace.finished(ms);
  }

  get open(): boolean {
    return this.#left() > 0 || this.#ready.length > 0 || this.#fetching !== undefined;
  }

  async close(): Promise<void> {
    clearTimeout(this.#lingering);
    await this.#fetching;
    for (const { work } of this.#ready.splice(0)) this.#giveBack(work);
    await Promise.all(this.#givingBack);
  }

  #left(): number {
    const { lives } = this.#options;
    return lives < 0 ? Number.POSITIVE_INFINITY : lives - this.#reserved;
  }

  /** Hands the first waiting slot what it gets; a slot given a work runs it from now on. */
  #give(got: Taken): void {
    const slot = this.#waiting.shift();
    if (slot && got && !(got instanceof Error)) this.#executing++;
    slot?.give(got);
  }

  /** Releases a work claimed ahead: it did not run, so the attempt does not count. */
  #giveBack(work: StoredWork): void {
    this.#reserved--;
    const released = this.#release(work);
    this.#givingBack.add(released);
    void released.finally(() => this.#givingBack.delete(released));
  }

  async #release(work: StoredWork): Promise<void> {
    try {
      await this.#options.client.release(work);
    } catch (error) {
      // Its lease ends the claim all the same, after which the work runs again.
      this.#options.logger.warn(
        { work: work.id, reason: error instanceof Error ? error.message : String(error) },
        "could not give back a work claimed ahead; it runs again once its lease lapses",
      );
    }
  }

  async #pump(): Promise<void> {
    if (this.#fetching) return;
    this.#fetching = this.#claim();
    const sent = await this.#fetching;
    this.#fetching = undefined;
    if (sent) void this.#pump();
  }

  /** Carries out the plan for now: sends the claim it calls for, if any. Answers whether it sent one. */
  async #claim(): Promise<boolean> {
    const plan = planClaim({
      waiting: this.#waiting.length,
      waitingSince: this.#waiting[0]?.since,
      executing: this.#executing,
      ready: this.#ready.length,
      left: this.#left(),
      connected: this.#connected,
      dry: this.#pace.dry,
      averageMs: this.#pace.averageMs,
      claimMs: this.#pace.claimMs,
      lastClaimAt: this.#lastClaimAt,
      stopping: this.#options.signal.aborted,
      now: Date.now(),
    });
    switch (plan.kind) {
      case "idle":
        return false;
      case "done":
        while (this.#waiting.length > 0) this.#give(null);
        return false;
      case "linger":
        this.#lingering ??= setTimeout(() => {
          this.#lingering = undefined;
          void this.#pump();
        }, plan.ms);
        return false;
      case "claim":
        clearTimeout(this.#lingering);
        this.#lingering = undefined;
        await this.#withdraw(plan.count, plan.ahead);
        return true;
    }
  }

  async #withdraw(count: number, ahead: boolean): Promise<void> {
    const { client, signal } = this.#options;
    this.#reserved += count;
    const sent = Date.now();
    // The first claim does not wait: it says at once whether the service takes the token. A claim
    // ahead does not wait either: slots are busy, and an empty queue is news enough.
    const wait = this.#connected && !ahead ? this.#options.wait : 0;
    try {
      const works = await client.withdraw(this.#options.filter, {
        count,
        wait,
        lease: this.#options.lease,
        // A stop ends a long-poll at once (the service gives back what it claims for a caller that
        // hung up). A claim that does not wait comes back quickly: what it brings after the stop is
        // given back here, where an aborted request could leave it to its lease.
        ...(wait > 0 ? { signal } : {}),
      });
      this.#reserved -= count - works.length;
      this.#pace.claimed(count, works.length, Date.now() - sent);
      await this.#answered();
      if (signal.aborted) {
        for (const work of works) this.#giveBack(work);
        while (this.#waiting.length > 0) this.#give(null);
        return;
      }
      const claimedAt = Date.now();
      for (const work of works) {
        if (this.#waiting.length > 0) this.#give({ work, claimedAt });
        else this.#ready.push({ work, claimedAt });
      }
      if (works.length === 0) while (this.#waiting.length > 0) this.#give(null);
    } catch (error) {
      this.#reserved -= count;
      this.#failingSince ??= Date.now();
      while (this.#waiting.length > 0) this.#give(error as Error);
    } finally {
      this.#lastClaimAt = Date.now();
    }
  }

  /** The service answered a claim: said once at first, and again after an outage. */
  async #answered(): Promise<void> {
    if (!this.#connected) {
      this.#connected = true;
      this.#failingSince = undefined;
      await this.#options.onConnected();
    } else if (this.#failingSince !== undefined) {
      const outageMs = Date.now() - this.#failingSince;
      this.#failingSince = undefined;
      await this.#options.onConnected(outageMs);
    }
  }
}
