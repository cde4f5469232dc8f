import type { LogLine } from "@workflow/work";
import { type Collection, type Db, type Filter, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";

export const LOGS_COLLECTION = "logs";
export const LOGS_RETENTION_INDEX = "logs_retention";
const SECONDS_PER_DAY = 86_400;
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
  /** Bytes of text in `lines`. */
  bytes: number;
  /** Bytes of older output dropped before this batch (set on the oldest batch kept). */
  cut?: number;
  /** When the batch arrived: the retention TTL counts from it. */
  at: Date;
}

export interface StoredLogs {
  cut: number;
  lines: LogLine[];
  /** The newest batch read: pass it as `after` to read only what came since. */
  last: ObjectId | undefined;
}

/** Whose logs: the work, as deposited that time. */
export type LogOwner = Pick<WorkDoc, "_id" | "incarnation">;

const bytesOf = (lines: LogLine[]) =>
  lines.reduce((n, line) => n + Buffer.byteLength(line.text, "utf8") + 1, 0);

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
     * Appends a batch, then drops the oldest batches past `maxBytes` for the attempt; the oldest
     * batch left counts what was dropped before it, which readers show as a marker.
     */
    append: async (owner: LogOwner, attempt: number, lines: LogLine[], maxBytes: number) => {
      await logs.insertOne({
        _id: new ObjectId(),
        work: owner._id,
        ...(owner.incarnation ? { incarnation: owner.incarnation } : {}),
        attempt,
        lines,
        bytes: bytesOf(lines),
        at: new Date(),
      });
      const batches = await logs
        .find(of(owner, attempt), { projection: { bytes: 1, cut: 1 } })
        .sort({ _id: -1 })
        .toArray();
      let kept = 0;
      const index = batches.findIndex((batch) => {
        kept += batch.bytes;
        return kept > maxBytes;
      });
      // The newest batch always stays, whatever its size.
      const cutAt = Math.max(1, index);
      if (index < 0 || cutAt >= batches.length) return;
      const dropped = batches.slice(cutAt);
      const oldestKept = batches[cutAt - 1] as LogDoc;
      const cut = dropped.reduce((n, batch) => n + batch.bytes + (batch.cut ?? 0), 0);
      await logs.deleteMany({ _id: { $in: dropped.map((batch) => batch._id) } });
      await logs.updateOne({ _id: oldestKept._id }, { $inc: { cut } });
    },

    /** The attempt's lines in order (only those after `after`, when given). */
    read: async (owner: LogOwner, attempt: number, after?: ObjectId): Promise<StoredLogs> => {
      const batches = await logs
        .find({ ...of(owner, attempt), ...(after ? { _id: { $gt: after } } : {}) })
        .sort({ _id: 1 })
        .toArray();
      return {
        cut: after ? 0 : (batches[0]?.cut ?? 0),
        lines: batches.flatMap((batch) => batch.lines),
        last: batches.at(-1)?._id ?? after,
      };
    },

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
