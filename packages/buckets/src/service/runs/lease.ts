/**
 * A run's evaluation lease: one evaluation writes at a time, and each is bounded in time and
 * rounds.
 */

import { performance } from "node:perf_hooks";
import type { ObjectId } from "../../store/ids.js";
import { LOCK_SECONDS } from "../../store/index.js";
import type { ServiceContext } from "../context.js";

/**
 * Seconds one evaluation of a run may take, well inside its lock: past them it stops writing, and
 * the reaper's sweep evaluates the run again. A write already sent when it gives up may still
 * land, so the margin to the lock is what keeps two evaluations from writing at once.
 */
export const EVALUATION_SECONDS = LOCK_SECONDS / 2;

/** Evaluations in a row while writers keep marking the run dirty; the sweep takes over after. */
export const MAX_ROUNDS = 10;

/** An evaluation that must stop writing: its time is up, or another evaluation took its lock. */
export class LeaseLost extends Error {}

/**
 * One evaluation's hold on a run: its lock token and its time. Every write of works checks it
 * first, so an evaluation that a slow MongoDB, a GC pause or a large fan-in kept past its time
 * (and so maybe past its lock) writes nothing more.
 */
export class RunLease {
  readonly #ctx: ServiceContext;
  readonly #startedMs = performance.now();
  readonly #started: number;
  #abandoned = false;

  constructor(
    ctx: ServiceContext,
    readonly run: ObjectId,
    readonly lockId: ObjectId,
  ) {
    this.#ctx = ctx;
    this.#started = ctx.now();
  }

  /** Past its time by this process's clock or by the service's (which all instances share). */
  get expired(): boolean {
    return (
      this.#abandoned ||
      performance.now() - this.#startedMs > EVALUATION_SECONDS * 1000 ||
      this.#ctx.now() - this.#started > EVALUATION_SECONDS
    );
  }

  /** Given up while waiting on MongoDB: a write of it may still be under way. */
  get abandoned(): boolean {
    return this.#abandoned;
  }

  /** Before each write: throws `LeaseLost` when the time is up or the lock is no longer ours. */
  async check(): Promise<void> {
    if (this.expired) throw this.#late();
    if (!(await this.#ctx.store.runs.holds(this.run, this.lockId))) throw this.lost();
    // The read itself may have been what took so long.
    if (this.expired) throw this.#late();
  }

  /** What to throw once the lock turns out to be another evaluation's. */
  lost(): LeaseLost {
    return new LeaseLost(this.#why("lost its lock to another evaluation"));
  }

  #late(): LeaseLost {
    return new LeaseLost(this.#why(`took longer than its ${EVALUATION_SECONDS} s`));
  }

  /**
   * Waits for `evaluation` until the lease's time is up, then abandons it: its next check throws,
   * and its rejection is dropped, as it no longer has anyone to tell.
   */
  async bound(evaluation: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const left = EVALUATION_SECONDS * 1000 - (performance.now() - this.#startedMs);
    const timeUp = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          this.#abandoned = true;
          reject(
            new LeaseLost(this.#why(`was still waiting on MongoDB after ${EVALUATION_SECONDS} s`)),
          );
        },
        Math.max(0, left),
      );
    });
    evaluation.catch(() => undefined);
    try {
      await Promise.race([evaluation, timeUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  #why(what: string): string {
    return `the evaluation of run ${this.run.toHexString()} ${what}: it stopped writing, and the reaper's sweep evaluates the run again`;
  }
}
