/** The store's reads of works: by filter as a cursor, by ids, and counted. */

import type { Collection, Filter, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

export interface FindOptions {
  projection?: Record<string, 0 | 1>;
  skip?: number;
  limit?: number;
  /** Only works after this id: pages that do not drift while works arrive. */
  after?: ObjectId | undefined;
  /** Newest first by arrival (`received`, then id), rather than in id order. */
  newest?: boolean;
  /** With `newest`: only works that arrived before this one, the last of the page before. */
  before?: { received: number; id: ObjectId } | undefined;
}

/** Newest first: the `arrival` index read backwards, stable across pages by the id's tie-break. */
const NEWEST = { received: -1, _id: -1 } as const;

/**
 * The works matching a filter, as they come from the cursor: the caller decides how much of them
 * to hold (a view of 10,000 works of 4 MB each would not fit in memory). Leaving the loop early
 * closes the cursor.
 */
export function findWorks(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  { projection, skip = 0, limit = 100, after, newest, before }: FindOptions = {},
): AsyncIterable<Partial<WorkDoc>> {
  if (newest) {
    const older = before
      ? {
          $and: [
            filter,
            {
              $or: [
                { received: { $lt: before.received } },
                { received: before.received, _id: { $lt: before.id } },
              ],
            },
          ],
        }
      : filter;
    return collection.find(older, {
      ...(projection ? { projection } : {}),
      sort: NEWEST,
      skip,
      limit,
    });
  }
  // In id order, the index every collection has: paging is stable, with `after` or with `skip`.
  const paged = after ? { $and: [filter, { _id: { $gt: after } }] } : filter;
  return collection.find(paged, {
    ...scatter("a view that names no pipeline"),
    ...(projection ? { projection } : {}),
    sort: { _id: 1 },
    skip,
    limit,
  });
}

export async function countWorks(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
): Promise<number> {
  return collection.countDocuments(filter, scatter("a count that names no pipeline"));
}

export async function findByIds(
  collection: Collection<WorkDoc>,
  ids: ObjectId[],
  pipelines?: string[],
): Promise<WorkDoc[]> {
  if (ids.length === 0) return [];
  if (pipelines)
    return collection.find({ _id: { $in: ids }, pipeline: { $in: pipelines } }).toArray();
  return collection.find({ _id: { $in: ids } }, scatter("works by id alone")).toArray();
}
