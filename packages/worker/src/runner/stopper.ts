/**
 * A running work's timeout and stop, for every runner (command, Node, Python): a timeout, a cancel
 * or a shutdown kills the work's process group once, and the first reason given is the one told.
 */

import type { ChildProcess } from "node:child_process";
import { type Outcome, type StopReason, stoppedOutcome } from "./outcome.js";
import { killGroup } from "./process-group.js";

export class Stopper {
  #reason: StopReason | undefined;
  #killing: Promise<void> | undefined;
  #finished = false;
  readonly #timer: NodeJS.Timeout;

  /** Starts the work's timer: after `timeoutSeconds` it is stopped for "timeout". */
  constructor(
    private readonly child: ChildProcess,
    private readonly timeoutSeconds: number,
  ) {
    this.#timer = setTimeout(() => this.stop("timeout"), timeoutSeconds * 1000);
  }

  /** Ends the work early; ignored once it is over. */
  readonly stop = (reason: StopReason): void => {
    // Once the work is over its process may serve another work, or its pid be another's.
    if (this.#finished) return;
    this.#reason ??= reason;
    this.kill();
  };

  /** Kills the group without a reason to tell (a process that could not take the work). */
  kill(): Promise<void> {
    this.#killing ??= killGroup(this.child);
    return this.#killing;
  }

  /** The kill under way, if any. */
  get killing(): Promise<void> | undefined {
    return this.#killing;
  }

  /** Whether a stop was asked for. */
  get stopped(): boolean {
    return this.#reason !== undefined;
  }

  get finished(): boolean {
    return this.#finished;
  }

  /** The process ended on its own: the timer no longer applies. */
  disarm(): void {
    clearTimeout(this.#timer);
  }

  /** The work is over: later stops leave its process alone. */
  finish(): void {
    this.#finished = true;
    this.disarm();
  }

  /** What a stopped work answers (with `extra` in its results), or undefined if it was not stopped. */
  outcome(extra: Record<string, unknown> = {}): Outcome | undefined {
    return this.#reason && stoppedOutcome(this.#reason, this.timeoutSeconds, extra);
  }
}
