/** The store's record of how each worker last reached the service. */

import type { ContactVia } from "@workflow/work";
import type { Collection, Db } from "mongodb";

/**
 * One worker's last contact: what tells an idle live worker from a stopped one. Keyed by the
 * token's user and the worker's self-description, so a token never writes over what another
 * user's worker of the same name recorded.
 */
export interface ContactDoc {
  _id: { user: string; worker: string };
  /** The token's user. */
  user: string;
  /** The worker's self-description (its x-worker-id, or user@address). */
  worker: string;
  at: number;
  via: ContactVia;
  /** The pipelines its last polls named, the most recent CONTACT_PIPELINES_KEPT: what it serves. */
  pipelines: string[];
  /** When MongoDB may drop the record (TTL index): a worker gone for a day is forgotten. */
  expires: Date;
}

/**
 * A worker polling in a loop contacts the service several times a second: one write per worker
 * this often at most, so an idle fleet costs no more than a few writes a second.
 */
export const CONTACT_WRITE_SECONDS = 5;
/**
 * The pipelines a contact keeps: a client naming a fresh pipeline each poll would otherwise grow
 * one document without bound.
 */
export const CONTACT_PIPELINES_KEPT = 32;
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
    seen: async (
      contact: { user: string; worker: string },
      via: ContactVia,
      pipelines: string[],
      now: number,
    ) => {
      const { user, worker } = contact;
      const key = `${via} ${user} ${worker} ${pipelines.join(",")}`;
      if (now - (written.get(key) ?? 0) < CONTACT_WRITE_SECONDS) return;
      written.set(key, now);
      if (written.size > 10_000) written.clear();
      const kept = { $ifNull: ["$pipelines", []] };
      // A heartbeat names no pipeline: the polls' list stays as it was. A poll's pipelines move to
      // the end, and only the most recent are kept. $literal: the names are data, never paths.
      const named = { $literal: pipelines };
      const update = {
        user: { $literal: user },
        worker: { $literal: worker },
        at: { $literal: now },
        via: { $literal: via },
        expires: { $literal: new Date((now + CONTACT_KEPT_SECONDS) * 1000) },
        pipelines: pipelines.length
          ? {
              $slice: [
                {
                  $concatArrays: [
                    { $filter: { input: kept, cond: { $not: { $in: ["$$this", named] } } } },
                    named,
                  ],
                },
                -CONTACT_PIPELINES_KEPT,
              ],
            }
          : kept,
      };
      await collection.updateOne({ _id: { user, worker } }, [{ $set: update }], { upsert: true });
    },
    /** The workers heard from since `since`, most recent first. */
    since: (since: number, limit: number) =>
      // Records from before contacts were keyed by user (a bare string id) are left to expire.
      collection
        .find({ at: { $gte: since }, user: { $type: "string" } }, { sort: { at: -1 }, limit })
        .toArray(),
  };
}

export type ContactStore = ReturnType<typeof contactStore>;
