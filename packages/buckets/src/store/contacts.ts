/** The store's record of how each worker last reached the service. */

import type { Collection, Db } from "mongodb";

/** How a worker last reached the service: asking for work, or keeping an attempt's lease. */
export type ContactVia = "poll" | "heartbeat";

/** One worker's last contact: what tells an idle live worker from a stopped one. */
export interface ContactDoc {
  /** The worker's self-description (its x-worker-id, or user@address). */
  _id: string;
  at: number;
  via: ContactVia;
  /** The pipelines its polls named: what it serves. */
  pipelines: string[];
  /** When MongoDB may drop the record (TTL index): a worker gone for a day is forgotten. */
  expires: Date;
}

/**
 * A worker polling in a loop contacts the service several times a second: one write per worker
 * this often at most, so an idle fleet costs no more than a few writes a second.
 */
export const CONTACT_WRITE_SECONDS = 5;
/** How long a contact is kept after the last one. */
const CONTACT_KEPT_SECONDS = 86_400;

export function contactStore(db: Db) {
  const collection: Collection<ContactDoc> = db.collection("workers");
  const written = new Map<string, number>();
  return {
    ensureIndexes: async () => {
      await collection.createIndex({ at: -1 }, { name: "at" });
      await collection.createIndex({ expires: 1 }, { name: "expires", expireAfterSeconds: 0 });
    },
    /** Records a contact, unless this worker's last one was written moments ago by this instance. */
    seen: async (worker: string, via: ContactVia, pipelines: string[], now: number) => {
      const key = `${via} ${worker} ${pipelines.join(",")}`;
      if (now - (written.get(key) ?? 0) < CONTACT_WRITE_SECONDS) return;
      written.set(key, now);
      if (written.size > 10_000) written.clear();
      await collection.updateOne(
        { _id: worker },
        {
          $set: { at: now, via, expires: new Date((now + CONTACT_KEPT_SECONDS) * 1000) },
          // A heartbeat names no pipeline: the polls' list stays as it was.
          ...(pipelines.length
            ? { $addToSet: { pipelines: { $each: pipelines } } }
            : { $setOnInsert: { pipelines: [] } }),
        },
        { upsert: true },
      );
    },
    /** The workers heard from since `since`, most recent first. */
    since: (since: number, limit: number) =>
      collection.find({ at: { $gte: since } }, { sort: { at: -1 }, limit }).toArray(),
  };
}

export type ContactStore = ReturnType<typeof contactStore>;
