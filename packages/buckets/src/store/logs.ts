/**
 * The store of attempts' logs: their own collection, appended in batches, paged and removed with
 * their works.
 */

import { LOG_LINE_OVERHEAD_BYTES, type LogLine, SECONDS_PER_DAY } from "@workflow/work";
import { type Collection, type Db, type Filter, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";

export const LOGS_COLLECTION = "logs";
export const LOGS_RETENTION_INDEX = "logs_retention";
/** Works whose logs one delete removes: a run's works may be many more than one request's. */
const REMOVE_BATCH = 10_000;

/** One batch of an attempt's output, as a worker sent it. */
export interface LogDoc {
  _id: ObjectId;
  work: ObjectId;
  /** The work's incarnation (see WorkDoc): absent for works stored before it was kept. */
  incarnation?: ObjectId;
  attempt: number;
  lines: LogLine[];
  /** Bytes of `lines`: their text, and LOG_LINE_OVERHEAD_BYTES for each. */
  bytes: number;
  /** How many lines (absent on batches stored before lines were counted). */
  count?: number;
  /** Bytes of older output dropped before this batch (set on the oldest batch kept). */
  cut?: number;
  /** When the batch arrived: the retention TTL counts from it. */
  at: Date;
}

export interface Batch {
  _id: ObjectId;
  lines: LogLine[];
}

export interface StoredLogs {
  cut: number;
  batches: Batch[];
  /** The newest batch read: pass it as `after` to read only what came since. */
  last: ObjectId | undefined;
}

/** Whose logs: the work, as deposited that time. */
export type LogOwner = Pick<WorkDoc, "_id" | "incarnation" | "pipeline">;

/** Where a page starts: a batch, and a line in it. */
export interface LogPosition {
  batch: ObjectId;
  line: number;
}

export interface LogPage {
  cut: number;
  lines: LogLine[];
  next?: LogPosition;
}

export interface LogBounds {
  maxBytes: number;
  maxLines: number;
}

const bytesOf = (lines: LogLine[]) =>
  lines.reduce((n, line) => n + Buffer.byteLength(line.text, "utf8") + LOG_LINE_OVERHEAD_BYTES, 0);

/** An attempt's logs, in their own collection: one document per batch, oldest cut past a bound. */
export function logStore(db: Db) {
  const logs: Collection<LogDoc> = db.collection<LogDoc>(LOGS_COLLECTION);
  // Works stored before incarnations were kept have logs without one.
  const of = (owner: LogOwner, attempt: number): Filter<LogDoc> => ({
    work: owner._id,
    incarnation: owner.incarnation ?? { $exists: false },
    attempt,
  });
  return {
    ensureIndexes: async () => {
      await logs.createIndex({ work: 1, attempt: 1, _id: 1 }, { name: "logs_attempt" });
    },

    /**
     * Keeps logs `days` after their batch arrived (a TTL index), so that logs of works retention
     * removes go too; without `days` they stay.
     */
    ensureRetention: async (days: number | undefined) => {
      const indexes = await logs
        .listIndexes()
        .toArray()
        .catch(() => []);
      const existing = indexes.find((index) => index.name === LOGS_RETENTION_INDEX);
      const seconds = days ? Math.round(days * SECONDS_PER_DAY) : undefined;
      if (existing && existing.expireAfterSeconds === seconds) return;
      if (existing) await logs.dropIndex(LOGS_RETENTION_INDEX);
      if (seconds !== undefined)
        await logs.createIndex(
          { at: 1 },
          { name: LOGS_RETENTION_INDEX, expireAfterSeconds: seconds },
        );
    },

    /**
     * Appends a batch, then drops the oldest batches past `maxBytes` or `maxLines` for the attempt;
     * the oldest batch left counts what was dropped before it, which readers show as a marker.
     */
    append: async (owner: LogOwner, attempt: number, lines: LogLine[], bounds: LogBounds) => {
      await logs.insertOne({
        _id: new ObjectId(),
        work: owner._id,
        ...(owner.incarnation ? { incarnation: owner.incarnation } : {}),
        attempt,
        lines,
        bytes: bytesOf(lines),
        count: lines.length,
        at: new Date(),
      });
      const batches = await logs
        .find(of(owner, attempt), { projection: { bytes: 1, cut: 1, count: 1 } })
        .sort({ _id: -1 })
        .toArray();
      let bytes = 0;
      let count = 0;
      const index = batches.findIndex((batch) => {
        bytes += batch.bytes;
        count += batch.count ?? 0;
        return bytes > bounds.maxBytes || count > bounds.maxLines;
      });
      // The newest batch always stays, whatever its size.
      const cutAt = Math.max(1, index);
      if (index < 0 || cutAt >= batches.length) return;
      const dropped = batches.slice(cutAt);
      const oldestKept = batches[cutAt - 1] as LogDoc;
      const cut = dropped.reduce((n, batch) => n + batch.bytes + (batch.cut ?? 0), 0);
      // Naming the work (the shard key) keeps both writes on its shard.
      await logs.deleteMany({ work: owner._id, _id: { $in: dropped.map((batch) => batch._id) } });
      await logs.updateOne({ work: owner._id, _id: oldestKept._id }, { $inc: { cut } });
    },

    /** The attempt's batches in order (only those after `after`, when given). */
    read: async (owner: LogOwner, attempt: number, after?: ObjectId): Promise<StoredLogs> => {
      const batches = await logs
        .find(
          { ...of(owner, attempt), ...(after ? { _id: { $gt: after } } : {}) },
          { projection: { lines: 1, cut: 1 } },
        )
        .sort({ _id: 1 })
        .toArray();
      return {
        cut: after ? 0 : (batches[0]?.cut ?? 0),
        batches,
        last: batches.at(-1)?._id ?? after,
      };
    },

    /**
     * At most `limit` lines from `from` (the first line kept, when not given), reading only the
     * batches the page needs; `next` says where the following page starts.
     */
    page: async (
      owner: LogOwner,
      attempt: number,
      from: LogPosition | undefined,
      limit: number,
    ): Promise<LogPage> => {
      const lines: LogLine[] = [];
      let cut = 0;
      let next: LogPosition | undefined;
      const cursor = logs
        .find(
          { ...of(owner, attempt), ...(from ? { _id: { $gte: from.batch } } : {}) },
          { projection: { lines: 1, cut: 1 } },
        )
        .sort({ _id: 1 })
        .batchSize(8);
      for await (const batch of cursor) {
        if (!from && lines.length === 0) cut = batch.cut ?? 0;
        const skip = from && batch._id.equals(from.batch) ? from.line : 0;
        const room = limit - lines.length;
        const rest = batch.lines.length - skip;
        if (rest <= 0) continue;
        if (room <= 0) {
          next = { batch: batch._id, line: skip };
          break;
        }
        lines.push(...batch.lines.slice(skip, skip + room));
        if (rest > room) {
          next = { batch: batch._id, line: skip + room };
          break;
        }
      }
      await cursor.close();
      return { cut, lines, ...(next ? { next } : {}) };
    },

    /** The attempt's batches one at a time, oldest first (the text answer streams them). */
    each: (owner: LogOwner, attempt: number): AsyncIterable<LogDoc> =>
      logs.find(of(owner, attempt)).sort({ _id: 1 }).batchSize(8),

    /** The attempt's last `count` lines, reading the newest batches only. */
    tail: async (owner: LogOwner, attempt: number, count: number): Promise<LogLine[]> => {
      const lines: LogLine[] = [];
      const cursor = logs.find(of(owner, attempt)).sort({ _id: -1 });
      for await (const batch of cursor) {
        lines.unshift(...batch.lines);
        if (lines.length >= count) break;
      }
      await cursor.close();
      return lines.slice(-count);
    },

    /** Removes the logs of removed works, whatever their incarnation. */
    removeFor: async (works: ObjectId[]) => {
      for (let at = 0; at < works.length; at += REMOVE_BATCH) {
        await logs.deleteMany({ work: { $in: works.slice(at, at + REMOVE_BATCH) } });
      }
    },
  };
}

export type LogStore = ReturnType<typeof logStore>;
