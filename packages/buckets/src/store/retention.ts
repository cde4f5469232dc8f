/** Retention in the store: the TTL index, and the dates it reads. */

import { FINISHED_STATUSES, SECONDS_PER_DAY } from "@workflow/work";
import type { Collection, Db, Document, Filter } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

export const RETENTION_INDEX = "retention";

/**
 * The TTL index that removes finished works `days` after they stopped (MongoDB's TTL monitor runs
 * about once a minute). It covers only finished statuses, so a work that runs again is never
 * removed whatever its `finishedAt` says. Without `days` the index is dropped: nothing is removed.
 */
export async function ensureRetention(
  db: Db,
  collection: Collection<WorkDoc>,
  days: number | undefined,
): Promise<void> {
  // A collection that does not exist yet has no indexes (listIndexes refuses it).
  const indexes = await collection
    .listIndexes()
    .toArray()
    .catch(() => []);
  const existing = indexes.find((index) => index.name === RETENTION_INDEX);
  if (!days) {
    if (existing) await collection.dropIndex(RETENTION_INDEX);
    return;
  }
  const seconds = Math.round(days * SECONDS_PER_DAY);
  const partialFilterExpression = { status: { $in: [...FINISHED_STATUSES] } };
  if (
    existing &&
    JSON.stringify(existing.key) === JSON.stringify({ finishedAt: 1 }) &&
    JSON.stringify(existing.partialFilterExpression) === JSON.stringify(partialFilterExpression)
  ) {
    if (existing.expireAfterSeconds !== seconds)
      await db.command({
        collMod: collection.collectionName,
        index: { name: RETENTION_INDEX, expireAfterSeconds: seconds },
      });
    return;
  }
  if (existing) await collection.dropIndex(RETENTION_INDEX);
  await collection.createIndex(
    { finishedAt: 1 },
    { name: RETENTION_INDEX, expireAfterSeconds: seconds, partialFilterExpression },
  );
}

/**
 * Dates the works that finished since the last pass: `finishedAt` is their `stop` (unix seconds)
 * as a BSON date, which the TTL index needs. A scan of the retention index's null entries: only
 * works finished since the last pass are read. A claim removes `finishedAt` again. With
 * `awaitTransfer`, works the transfer will keep in results are left undated, so never removed here.
 */
export async function stampFinished(
  collection: Collection<WorkDoc>,
  now: number,
  { awaitTransfer = false }: { awaitTransfer?: boolean } = {},
): Promise<number> {
  const stopped: Document = { $cond: [{ $isNumber: "$stop" }, "$stop", now] };
  // What the transfer moves to the results store (see @workflow/work's FINISHED): never dated.
  const bound: Filter<WorkDoc> = {
    "config.archive.results": true,
    status: { $in: ["success", "failure"] },
  };
  const { modifiedCount } = await collection.updateMany(
    {
      status: { $in: [...FINISHED_STATUSES] },
      finishedAt: { $exists: false },
      retryAt: { $exists: false },
      ...(awaitTransfer ? { $nor: [bound] } : {}),
    },
    [{ $set: { finishedAt: { $add: [new Date(0), { $multiply: [stopped, 1000] }] } } }],
    scatter("retention's dating of finished works"),
  );
  return modifiedCount;
}
