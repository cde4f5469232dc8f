import {
  type BucketsClient,
  BucketsError,
  errorFamily,
  type Held,
  LOG_LINE_OVERHEAD_BYTES,
  type LogLine,
  type LogStream,
  MAX_LOG_BATCH_CHARS,
  MAX_LOG_BATCH_LINES,
  MAX_LOG_BYTES_PER_ATTEMPT,
  MAX_LOG_LINES_PER_ATTEMPT,
} from "@workflow/work";
import type { Logger } from "../logger.js";
import { isRefusal, notOurs } from "../ownership.js";
import { settledWithin } from "../runner/settled.js";
import { LineSplitter } from "./lines.js";

/** How often output goes to the service, in ms: a worker killed with -9 loses at most this much. */
export const SHIP_EVERY_MS = 1_000;
/** Output waiting past this many characters is sent at once rather than at the next tick. */
export const SHIP_BATCH_CHARS = 64 * 1024;
/** The most output held while the service cannot be reached; the oldest goes first, with a marker. */
export const SHIP_BUFFER_CHARS = 4 * 1024 * 1024;
/**
 * Past this much text waiting (while the service takes output), a work that can be paused (a
 * command, a Python function) is paused until the service has taken some: it prints at the rate
 * the service stores, and nothing is dropped.
 */
export const SHIP_HOLD_CHARS = 2 * MAX_LOG_BATCH_CHARS;
/**
 * While the service takes output, what waits may grow this far past what the service keeps of an
 * attempt (a flood of short lines fills that before SHIP_HOLD_CHARS of text): then the oldest go,
 * down to what the service keeps. Those had as much output after them as the service keeps, so it
 * would have cut them on its own; the work is not slowed to the service's rate of lines.
 */
const SUPERSEDED_SLACK = 1.25;
/**
 * How long the end of an attempt waits for what is left to reach the service, in ms. Past it, what
 * still waits is cut to one last batch (with a marker), given as long again: the last lines, a
 * traceback say, are the ones that matter.
 */
export const SHIP_CLOSE_MS = 5_000;
/**
 * What a line costs in the buffer's bounds beyond its text, as the service counts it: a flood of
 * one-letter lines (`yes`) must not fill it with millions of objects.
 */
const LINE_COST = LOG_LINE_OVERHEAD_BYTES;
/** Past its bound while the service cannot be reached, the buffer drops to this share of it. */
const TRIM_TO = 0.75;
/**
 * The characters of one batch: all the service takes in one append. While a batch is on its way
 * the next one grows, so a slow service gets fewer, larger batches.
 */
const BATCH_CHARS = MAX_LOG_BATCH_CHARS;

/** Why lines were dropped, as the marker that takes their place says it. */
const DROPPED_BECAUSE = {
  unreachable: "the service could not be reached",
  superseded: `more output came after them than the service keeps of an attempt (its last ${MAX_LOG_BYTES_PER_ATTEMPT / 1024 / 1024} MB and ${MAX_LOG_LINES_PER_ATTEMPT} lines), while it took output slower than the work printed`,
  refused: "the service refused them",
  ended: `the work ended and the service had not taken them within ${SHIP_CLOSE_MS / 1000} s`,
} as const;
type DropReason = keyof typeof DROPPED_BECAUSE;

export interface ShipperOptions {
  client: BucketsClient;
  /** The attempt whose output this is: only its claimer may append to its logs. */
  held: Held;
  logger: Logger;
}

const charsOf = (line: LogLine) => line.text.length;
const costOf = (line: LogLine) => line.text.length + LINE_COST;

/**
 * Sends an attempt's output to the service in batches, about once a second or every 64 KB, one
 * batch at a time. It never fails the work. While the service takes output but more waits than
 * SHIP_HOLD_CHARS, `write` answers a promise: the runner pauses the work's output until it
 * settles (backpressure). While the service cannot be reached, the work goes on and its output
 * waits in a bounded buffer whose oldest lines are dropped; every drop is said, with its cause.
 */
export class LogShipper {
  readonly #options: ShipperOptions;
  readonly #streams: Record<LogStream, LineSplitter>;
  #pending: LogLine[] = [];
  #pendingChars = 0;
  /** What the pending lines cost against SHIP_BUFFER_CHARS (their text and LINE_COST each). */
  #pendingCost = 0;
  /** Lines dropped and not yet said, by cause. */
  #dropped = new Map<DropReason, number>();
  /** Writers paused until less waits (or the service cannot be reached, or the attempt ends). */
  #paused: (() => void)[] = [];
  #sending: Promise<void> | undefined;
  #closed = false;
  /** The service will take no more: the attempt is not ours, or the token is refused. */
  #stopped = false;
  #failing = false;
  readonly #timer: NodeJS.Timeout;

  constructor(options: ShipperOptions) {
    this.#options = options;
    const add = (line: LogLine) => this.#add(line);
    this.#streams = {
      stdout: new LineSplitter("stdout", add),
      stderr: new LineSplitter("stderr", add),
    };
    this.#timer = setInterval(() => this.#ship(), SHIP_EVERY_MS);
    this.#timer.unref();
  }

  /**
   * Takes what the work wrote on one of its streams. A promise means: hold the rest of the
   * output until it settles (the service is taking output, but slower than the work prints).
   */
  write = (stream: LogStream, chunk: string | Buffer): Promise<void> | undefined => {
    if (this.#closed || this.#stopped) return undefined;
    this.#streams[stream].push(chunk);
    if (this.#failing || this.#pendingChars < SHIP_HOLD_CHARS) return undefined;
    return new Promise((resume) => this.#paused.push(resume));
  };

  /** Sends what is left (waiting at most SHIP_CLOSE_MS) and stops; never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#streams.stdout.end();
    this.#streams.stderr.end();
    this.#closed = true;
    clearInterval(this.#timer);
    this.#resume();
    const drain = (async () => {
      while (!this.#stopped && (this.#pending.length > 0 || this.#sending)) {
        const before = this.#pending.length;
        await (this.#sending ?? this.#ship());
        if (this.#failing && this.#pending.length >= before) return;
      }
    })();
    if (await settledWithin(drain, SHIP_CLOSE_MS)) return;
    this.#trim(BATCH_CHARS, MAX_LOG_BATCH_LINES, this.#failing ? "unreachable" : "ended");
    await settledWithin(drain, SHIP_CLOSE_MS);
  }

  /** Lets paused writers go on. */
  #resume(): void {
    for (const resume of this.#paused.splice(0)) resume();
  }

  #add(line: LogLine): void {
    this.#pending.push(line);
    this.#pendingChars += charsOf(line);
    this.#pendingCost += costOf(line);
    if (this.#failing) {
      if (this.#pendingCost > SHIP_BUFFER_CHARS)
        this.#trim(SHIP_BUFFER_CHARS * TRIM_TO, Number.POSITIVE_INFINITY, "unreachable");
    } else if (
      this.#pendingCost > MAX_LOG_BYTES_PER_ATTEMPT * SUPERSEDED_SLACK ||
      this.#pending.length > MAX_LOG_LINES_PER_ATTEMPT * SUPERSEDED_SLACK
    )
      this.#trim(MAX_LOG_BYTES_PER_ATTEMPT, MAX_LOG_LINES_PER_ATTEMPT, "superseded");
    if (this.#pendingChars >= SHIP_BATCH_CHARS && !this.#closed) void this.#ship();
  }

  /**
   * Drops the oldest lines until what waits costs at most `cost` and holds at most `lines`; the
   * next batch says how many and why.
   */
  #trim(cost: number, lines: number, reason: DropReason): void {
    let count = 0;
    while (
      (this.#pendingCost > cost || this.#pending.length - count > lines) &&
      count < this.#pending.length
    ) {
      const line = this.#pending[count] as LogLine;
      this.#pendingCost -= costOf(line);
      this.#pendingChars -= charsOf(line);
      count++;
    }
    // One splice, not a shift a line: shifting a long array moves all of it each time.
    this.#pending.splice(0, count);
    this.#drop(reason, count);
  }

  #drop(reason: DropReason, count: number): void {
    if (count > 0) this.#dropped.set(reason, (this.#dropped.get(reason) ?? 0) + count);
  }

  /** Sends one batch unless one is on its way; another follows at once while much is waiting. */
  #ship(): Promise<void> {
    if (this.#sending || this.#stopped || this.#pending.length === 0)
      return this.#sending ?? Promise.resolve();
    const dropped = new Map(this.#dropped);
    const batch = this.#takeBatch(dropped);
    // The work refills what this batch leaves while it is on its way.
    if (this.#pendingChars < SHIP_HOLD_CHARS) this.#resume();
    this.#sending = this.#send(batch, dropped).finally(() => {
      this.#sending = undefined;
      if (this.#failing || this.#pendingChars < SHIP_HOLD_CHARS) this.#resume();
      if (this.#pendingChars >= SHIP_BATCH_CHARS && !this.#failing && !this.#closed)
        void this.#ship();
    });
    return this.#sending;
  }

  /** The next batch, led by a marker a cause of drops (they stay counted until it is sent). */
  #takeBatch(dropped: ReadonlyMap<DropReason, number>): LogLine[] {
    const batch: LogLine[] = [];
    for (const [reason, count] of dropped)
      batch.push({
        t: Date.now(),
        stream: "stderr",
        text: `[workflow: ${count} lines of output were dropped: ${DROPPED_BECAUSE[reason]}]`,
      });
    let chars = 0;
    let cost = 0;
    let taken = 0;
    while (taken < this.#pending.length && batch.length < MAX_LOG_BATCH_LINES) {
      const line = this.#pending[taken] as LogLine;
      if (batch.length > 0 && chars + charsOf(line) > BATCH_CHARS) break;
      batch.push(line);
      chars += charsOf(line);
      cost += costOf(line);
      taken++;
    }
    this.#pending.splice(0, taken);
    this.#pendingChars -= chars;
    this.#pendingCost -= cost;
    return batch;
  }

  async #send(batch: LogLine[], dropped: ReadonlyMap<DropReason, number>): Promise<void> {
    const { client, held, logger } = this.#options;
    try {
      await client.appendLogs(held, batch);
      // Said now; lines dropped meanwhile stay counted for the next batch.
      for (const [reason, count] of dropped) {
        const left = (this.#dropped.get(reason) ?? 0) - count;
        if (left > 0) this.#dropped.set(reason, left);
        else this.#dropped.delete(reason);
      }
      if (this.#failing) logger.info("the service takes the work's output again");
      this.#failing = false;
    } catch (error) {
      if (notOurs(error) || isRefusal(error)) {
        // Not ours to write any more; the heartbeat tells the worker what to do about it.
        this.#stopped = true;
        this.#resume();
        this.#pending = [];
        this.#pendingChars = 0;
        this.#pendingCost = 0;
        return;
      }
      const family = error instanceof BucketsError ? errorFamily(error.code) : undefined;
      if (family === "invalid" || family === "too_large") {
        logger.warn(
          { reason: (error as Error).message },
          "the service refused a batch of output; it is dropped",
        );
        this.#drop("refused", batch.length - dropped.size);
        return;
      }
      // Put back, to go with the next try; the buffer's bound drops the oldest if this goes on.
      const lines = batch.slice(dropped.size);
      this.#pending = lines.concat(this.#pending);
      this.#pendingChars += lines.reduce((n, line) => n + charsOf(line), 0);
      this.#pendingCost += lines.reduce((n, line) => n + costOf(line), 0);
      if (!this.#failing)
        logger.warn(
          { reason: error instanceof Error ? error.message : String(error) },
          "could not send the work's output; holding it and trying again",
        );
      this.#failing = true;
      // The work must not wait on a service that cannot be reached: it goes on, the buffer bounded.
      this.#resume();
    }
  }
}
