import {
  type BucketsClient,
  BucketsError,
  type Held,
  type LogLine,
  type LogStream,
  MAX_LOG_BATCH_CHARS,
  MAX_LOG_BATCH_LINES,
} from "@workflow/work";
import type { Logger } from "../logger.js";
import { settledWithin } from "../runner/settled.js";
import { LineSplitter } from "./lines.js";

/** How often output goes to the service, in ms: a worker killed with -9 loses at most this much. */
export const SHIP_EVERY_MS = 1_000;
/** Output waiting past this many characters is sent at once rather than at the next tick. */
export const SHIP_BATCH_CHARS = 64 * 1024;
/** The most output held while the service cannot be reached; the oldest goes first, with a marker. */
export const SHIP_BUFFER_CHARS = 4 * 1024 * 1024;
/**
 * How long the end of an attempt waits for what is left to reach the service, in ms. Past it, what
 * still waits is cut to one last batch (with a marker), given as long again: the last lines, a
 * traceback say, are the ones that matter.
 */
export const SHIP_CLOSE_MS = 5_000;
/**
 * What a line costs in the buffer's bound beyond its text: a flood of one-letter lines (`yes`)
 * must not fill it with millions of objects.
 */
const LINE_COST = 64;
/** Past its bound, the buffer drops to this share of it at once, so that it trims rarely. */
const TRIM_TO = 0.75;
/** The characters of one batch: a quarter of what the service takes, so a batch is quick to store. */
const BATCH_CHARS = MAX_LOG_BATCH_CHARS / 4;

export interface ShipperOptions {
  client: BucketsClient;
  /** The attempt whose output this is: only its claimer may append to its logs. */
  held: Held;
  logger: Logger;
}

const charsOf = (line: LogLine) => line.text.length;
const costOf = (line: LogLine) => line.text.length + LINE_COST;

/**
 * Sends an attempt's output to the service in batches, about once a second or every 64 KB. It
 * never blocks nor fails the work: sends run beside it, and while the service cannot be reached
 * the output waits in a bounded buffer whose oldest lines are dropped (and said to be).
 */
export class LogShipper {
  readonly #options: ShipperOptions;
  readonly #streams: Record<LogStream, LineSplitter>;
  #pending: LogLine[] = [];
  #pendingChars = 0;
  /** What the pending lines cost against SHIP_BUFFER_CHARS (their text and LINE_COST each). */
  #pendingCost = 0;
  #dropped = 0;
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

  /** Takes what the work wrote on one of its streams. */
  write = (stream: LogStream, chunk: string | Buffer): void => {
    if (this.#closed || this.#stopped) return;
    this.#streams[stream].push(chunk);
  };

  /** Sends what is left (waiting at most SHIP_CLOSE_MS) and stops; never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#streams.stdout.end();
    this.#streams.stderr.end();
    this.#closed = true;
    clearInterval(this.#timer);
    const drain = (async () => {
      while (!this.#stopped && (this.#pending.length > 0 || this.#sending)) {
        const before = this.#pending.length;
        await (this.#sending ?? this.#ship());
        if (this.#failing && this.#pending.length >= before) return;
      }
    })();
    if (await settledWithin(drain, SHIP_CLOSE_MS)) return;
    this.#trim(BATCH_CHARS);
    await settledWithin(drain, SHIP_CLOSE_MS);
  }

  #add(line: LogLine): void {
    this.#pending.push(line);
    this.#pendingChars += charsOf(line);
    this.#pendingCost += costOf(line);
    if (this.#pendingCost > SHIP_BUFFER_CHARS) this.#trim(SHIP_BUFFER_CHARS * TRIM_TO);
    if (this.#pendingChars >= SHIP_BATCH_CHARS && !this.#closed) void this.#ship();
  }

  /** Drops the oldest lines until what waits costs at most `cost`; the next batch says how many. */
  #trim(cost: number): void {
    let count = 0;
    while (this.#pendingCost > cost && count < this.#pending.length) {
      const line = this.#pending[count] as LogLine;
      this.#pendingCost -= costOf(line);
      this.#pendingChars -= charsOf(line);
      count++;
    }
    // One splice, not a shift a line: shifting a long array moves all of it each time.
    this.#pending.splice(0, count);
    this.#dropped += count;
  }

  /** Sends one batch unless one is on its way; another follows at once while much is waiting. */
  #ship(): Promise<void> {
    if (this.#sending || this.#stopped || this.#pending.length === 0)
      return this.#sending ?? Promise.resolve();
    const dropped = this.#dropped;
    const batch = this.#takeBatch(dropped);
    this.#sending = this.#send(batch, dropped).finally(() => {
      this.#sending = undefined;
      if (this.#pendingChars >= SHIP_BATCH_CHARS && !this.#failing && !this.#closed)
        void this.#ship();
    });
    return this.#sending;
  }

  /** The next batch, led by a marker when lines were dropped (they stay counted until it is sent). */
  #takeBatch(dropped: number): LogLine[] {
    const batch: LogLine[] = [];
    if (dropped > 0)
      batch.push({
        t: Date.now(),
        stream: "stderr",
        text: `[workflow: ${dropped} lines of output were dropped: the service could not be reached]`,
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

  async #send(batch: LogLine[], dropped: number): Promise<void> {
    const { client, held, logger } = this.#options;
    try {
      await client.appendLogs(held, batch);
      this.#dropped -= dropped;
      if (this.#failing) logger.info("the service takes the work's output again");
      this.#failing = false;
    } catch (error) {
      const status = error instanceof BucketsError ? error.status : 0;
      if ([401, 403, 404, 409].includes(status)) {
        // Not ours to write any more; the heartbeat tells the worker what to do about it.
        this.#stopped = true;
        this.#pending = [];
        this.#pendingChars = 0;
        this.#pendingCost = 0;
        return;
      }
      if (status === 400 || status === 413) {
        logger.warn(
          { reason: (error as Error).message },
          "the service refused a batch of output; it is dropped",
        );
        this.#dropped += batch.length - (dropped > 0 ? 1 : 0);
        return;
      }
      // Put back, to go with the next try; the buffer's bound drops the oldest if this goes on.
      const lines = dropped > 0 ? batch.slice(1) : batch;
      this.#pending = lines.concat(this.#pending);
      this.#pendingChars += lines.reduce((n, line) => n + charsOf(line), 0);
      this.#pendingCost += lines.reduce((n, line) => n + costOf(line), 0);
      if (!this.#failing)
        logger.warn(
          { reason: error instanceof Error ? error.message : String(error) },
          "could not send the work's output; holding it and trying again",
        );
      this.#failing = true;
    }
  }
}
