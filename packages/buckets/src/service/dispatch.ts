/**
 * Long-poll withdraws: holds waiting claimants, wakes them when work is queued, and bounds how many
 * wait.
 */

import { ServiceError } from "../errors.js";
import { DEFAULT_MAX_WAIT_FILTERS_PER_TOKEN, DEFAULT_MAX_WAITERS } from "../options.js";
import type { Query, WorkView } from "../store/index.js";
import type { ClaimRequest } from "./claimer.js";
import type { ServiceContext } from "./context.js";
import { namedPipelines } from "./withdraw.js";

/** How often waiting withdraws look again without a signal: for backoffs ending, other instances. */
export const RECHECK_MS = 1_000;

/** Who claims, and on which terms. */
export type Claimant = Omit<ClaimRequest, "count">;

type Claim = (query: Query, claimant: Claimant) => Promise<WorkView | null>;

interface Waiter {
  /** Waiters with equal keys want the same works: one empty claim answers for all of them. */
  key: string;
  query: Query;
  /** The pipelines the filter names; undefined when it could match any (a `$ne`, say). */
  pipelines: ReadonlySet<string> | undefined;
  owner: string;
  claimant: Claimant;
  resolve: (work: WorkView | null) => void;
  timer: NodeJS.Timeout;
  claiming: boolean;
  expired: boolean;
}

/**
 * Holds long-poll withdraws until a matching work arrives. One signal source per instance (a change
 * stream on a replica set, in-process events otherwise, and a slow recheck) wakes the waiters, and
 * each wake costs one claim per distinct filter, not one per waiter.
 *
 * What bounds a wake: a signal that names its pipelines (a deposit's) wakes only the filters that
 * name one of them, or name none; and each token's subject holds at most `maxFiltersPerToken`
 * distinct filters waiting (past it a 429). Two thousand distinct filters of one token used to
 * cost two thousand claims per deposit, and every other worker's withdraw waited behind them.
 */
export class Dispatcher {
  readonly #ctx: ServiceContext;
  readonly #claim: Claim;
  #waiters: Waiter[] = [];
  #draining = false;
  #again = false;
  /** Pipelines signalled since the last pass began; `all` when a signal named none. */
  #pending = new Set<string>();
  #pendingAll = false;
  /** Per owner, the distinct filters waiting and how many waiters hold each. */
  #filters = new Map<string, Map<string, number>>();
  #recheck: NodeJS.Timeout | undefined;
  #stream: { close(): Promise<void> } | undefined;
  /** Set while the stream is being opened, or for good once MongoDB said it has no change streams. */
  #watching: Promise<void> | undefined;
  #replicaSet: boolean | undefined;
  #closed = false;
  #generation = 0;
  readonly #maxWaiters: number;
  readonly #maxFilters: number;
  readonly #recheckMs: number;

  constructor(
    ctx: ServiceContext,
    claim: Claim,
    {
      maxWaiters = DEFAULT_MAX_WAITERS,
      maxFiltersPerToken = DEFAULT_MAX_WAIT_FILTERS_PER_TOKEN,
      recheckMs = RECHECK_MS,
    } = {},
  ) {
    this.#recheckMs = recheckMs;
    this.#ctx = ctx;
    this.#claim = claim;
    this.#maxWaiters = maxWaiters;
    this.#maxFilters = maxFiltersPerToken;
    ctx.events.on("work:queued", (pipelines) => {
      this.#generation++;
      this.wake(pipelines);
    });
  }

  /** Counts in-process deposit signals; a withdraw reads it before its first claim. */
  get generation(): number {
    return this.#generation;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** True when another waiter would pass the bound: `wait` then refuses with a 503. */
  get full(): boolean {
    return this.#waiters.length >= this.#maxWaiters;
  }

  /**
   * Waits up to `seconds` for a work matching `query`; null when none came. `since` is the
   * generation read before the caller's own failed claim: a deposit in between is not missed.
   * Past the bound of waiters it refuses (503 with Retry-After): each holds a connection and a
   * filter, and a flood of them must not take the service's memory.
   */
  wait(
    query: Query,
    claimant: Claimant,
    seconds: number,
    since: number,
    { owner, signal }: { owner: string; signal?: AbortSignal | undefined },
  ): Promise<WorkView | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.full) {
      return Promise.reject(
        new ServiceError(
          "unavailable",
          `${this.#maxWaiters} withdraws are already waiting for work (BUCKETS_MAX_WAITERS); retry shortly`,
        ),
      );
    }
    const key = `${claimant.lease ?? ""}|${JSON.stringify(query)}`;
    const mine = this.#filters.get(owner) ?? new Map<string, number>();
    if (!mine.has(key) && mine.size >= this.#maxFilters) {
      return Promise.reject(
        new ServiceError(
          "too_many_requests",
          `"${owner}" already has ${mine.size} distinct filters waiting for work (BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN); wait with fewer distinct filters, or without wait`,
        ),
      );
    }
    mine.set(key, (mine.get(key) ?? 0) + 1);
    this.#filters.set(owner, mine);
    const named = namedPipelines(query.pipeline);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        key,
        query,
        pipelines: named ? new Set(named) : undefined,
        owner,
        claimant,
        resolve,
        claiming: false,
        expired: false,
        timer: setTimeout(() => this.#expire(waiter), seconds * 1000),
      };
      signal?.addEventListener("abort", () => this.#expire(waiter), { once: true });
      this.#waiters.push(waiter);
      this.#ctx.metrics.waiters.set(this.#waiters.length);
      this.#start();
      // A deposit since the caller's own claim: only this waiter's pipelines need a look.
      if (since !== this.#generation) this.wake(named);
    });
  }

  /** Something became claimable (in these pipelines, when known): let the waiters that could want it try. */
  wake(pipelines?: readonly string[]): void {
    if (this.#waiters.length === 0) return;
    if (pipelines) for (const name of pipelines) this.#pending.add(name);
    else this.#pendingAll = true;
    if (this.#draining) {
      this.#again = true;
      return;
    }
    void this.#drain();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) this.#finish(waiter, null);
    clearInterval(this.#recheck);
    await this.#stream?.close().catch(() => undefined);
  }

  #expire(waiter: Waiter): void {
    // A claim in flight may still bring a work: let it land rather than lose it.
    if (waiter.claiming) waiter.expired = true;
    else this.#finish(waiter, null);
  }

  #finish(waiter: Waiter, work: WorkView | null): void {
    clearTimeout(waiter.timer);
    const index = this.#waiters.indexOf(waiter);
    if (index >= 0) {
      this.#waiters.splice(index, 1);
      const mine = this.#filters.get(waiter.owner);
      const left = (mine?.get(waiter.key) ?? 1) - 1;
      if (left > 0) mine?.set(waiter.key, left);
      else mine?.delete(waiter.key);
      if (mine?.size === 0) this.#filters.delete(waiter.owner);
    }
    this.#ctx.metrics.waiters.set(this.#waiters.length);
    waiter.resolve(work);
    if (this.#waiters.length === 0) {
      clearInterval(this.#recheck);
      this.#recheck = undefined;
    }
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    try {
      do {
        this.#again = false;
        const all = this.#pendingAll;
        const signalled = this.#pending;
        this.#pendingAll = false;
        this.#pending = new Set();
        const wanted = (waiter: Waiter) =>
          all || !waiter.pipelines || [...waiter.pipelines].some((name) => signalled.has(name));
        const empty = new Set<string>();
        for (const waiter of [...this.#waiters]) {
          if (empty.has(waiter.key) || !wanted(waiter) || !this.#waiters.includes(waiter)) continue;
          waiter.claiming = true;
          const work = await this.#claim(waiter.query, waiter.claimant).finally(() => {
            waiter.claiming = false;
          });
          if (work) this.#finish(waiter, work);
          else {
            empty.add(waiter.key);
            if (waiter.expired) this.#finish(waiter, null);
          }
        }
      } while (this.#again && this.#waiters.length > 0);
    } catch (error) {
      this.#ctx.events.emit("task:error", "long-poll claim", error);
    } finally {
      this.#draining = false;
    }
  }

  /** Starts the recheck timer and, on a replica set, the change stream, when waiters come. */
  #start(): void {
    this.#recheck ??= setInterval(() => this.wake(), this.#recheckMs).unref();
    if (!this.#stream && !this.#watching) this.#watching = this.#openStream();
  }

  async #openStream(): Promise<void> {
    try {
      this.#replicaSet ??= await this.#ctx.store.supportsChangeStreams();
      if (!this.#replicaSet || this.#closed) return;
      this.#stream = this.#ctx.store.watchQueued(
        (pipelines) => this.wake(pipelines),
        (error) => {
          this.#ctx.events.emit("task:error", "change stream", error);
          this.#stream = undefined;
          this.#watching = undefined; // the next waiter opens a new one
        },
      );
    } catch (error) {
      this.#ctx.events.emit("task:error", "change stream", error);
      this.#watching = undefined;
    }
  }
}
