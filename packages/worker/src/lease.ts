/**
 * An attempt's lease: heartbeats every third of it, and the fence that stops the work once the
 * lease lapsed unrenewed (the service may have given the work to another worker by then).
 */
import type { BucketsClient, BucketsError, StoredWork } from "@workflow/work";
import type { Logger } from "./logger.js";
import { isRefusal, leaseSeconds, notOurs } from "./ownership.js";

/** The shortest pause between heartbeats, in seconds. */
const MIN_HEARTBEAT_SECONDS = 0.5;
/** Between heartbeats of a claim that holds until the work's timeout (no lease given). */
const UNLEASED_HEARTBEAT_SECONDS = 20;

export interface LeaseOptions {
  client: BucketsClient;
  logger: Logger;
  /** When the claim came back (Date.now()): the service counts the lease from no later. */
  claimedAt?: number | undefined;
  /** The attempt is not ours any more, or the service cancelled it: stop the work. */
  stop(): void;
  /** The service refused the worker's token: the worker cannot go on. */
  onRefused?: ((error: BucketsError) => void) | undefined;
}

export class Lease {
  #lost = false;
  #released = false;
  #fence: NodeJS.Timeout | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #seconds: number;

  constructor(
    private readonly work: StoredWork,
    private readonly options: LeaseOptions,
  ) {
    this.#seconds = leaseSeconds(work);
    const every =
      Math.max(
        MIN_HEARTBEAT_SECONDS,
        this.#seconds > 0 ? this.#seconds / 3 : UNLEASED_HEARTBEAT_SECONDS,
      ) * 1000;
    this.#renewed(options.claimedAt ?? Date.now());
    this.#timer = setInterval(() => void this.#beat(), every);
  }

  /**
   * True once the attempt is not this worker's any more: the service gave it to someone else, or
   * the lease lapsed before a heartbeat could renew it. Its outcome must not be reported.
   */
  get lost(): boolean {
    return this.#lost;
  }

  /** Ends the heartbeats: once the outcome is recorded (or never will be). */
  release(): void {
    this.#released = true;
    clearInterval(this.#timer);
    clearTimeout(this.#fence);
  }

  #lose(message: string, extra: Record<string, unknown> = {}): void {
    this.#lost = true;
    this.options.logger.warn(extra, message);
    this.options.stop();
  }

  #renewed(at: number): void {
    if (this.#seconds <= 0 || this.#released) return;
    clearTimeout(this.#fence);
    this.#fence = setTimeout(
      () => {
        if (this.#released || this.#lost) return;
        this.#lose(
          "the lease lapsed before a heartbeat could renew it; stopping the work, whose outcome is no longer ours",
          { lease: this.#seconds },
        );
      },
      at + this.#seconds * 1000 - Date.now(),
    );
  }

  async #beat(): Promise<void> {
    if (this.#lost) return;
    const { client, logger } = this.options;
    const sent = Date.now();
    try {
      const { cancel } = await client.heartbeat(this.work);
      this.#renewed(sent);
      if (cancel) {
        logger.info("cancelled by the service; stopping it");
        this.options.stop();
      }
    } catch (error) {
      if (this.#released) return;
      if (notOurs(error)) this.#lose("this attempt is no longer ours; stopping it");
      else if (isRefusal(error)) this.options.onRefused?.(error);
      else
        logger.warn(
          { reason: error instanceof Error ? error.message : String(error) },
          "heartbeat failed; will try again",
        );
    }
  }
}
