/** The results store: finished works kept apart from the queue, one document per work id. */

import type { Work } from "@workflow/work";
import type { Collection, Db, Filter, IndexDescription, ObjectId } from "mongodb";
import { scatter } from "./scatter.js";

/**
 * The results store: finished works, kept apart from the queue (its own collection and indexes),
 * one document per work id. `_id` is the work's own id, so a work is never kept twice: a deposit
 * repeated after a crash finds it there and changes nothing.
 */
export type ResultDoc = Omit<Work, "id"> & {
  _id: ObjectId;
  /** When the results store received it (the service's clock, unix seconds). */
  deposited: number;
  /** When it was last replaced (PUT), if ever. */
  updated?: number;
};

/** A result as the API shows it: `id` a hex string, the store's own fields gone. */
export type ResultView = Partial<Work> & { id?: string };

export const RESULTS_COLLECTION = "results";

/** Scientists ask by pipeline, then event, tags, status or time; each is an index under pipeline. */
const RESULT_INDEXES: IndexDescription[] = [
  { name: "pipeline_id", key: { pipeline: 1, _id: 1 } },
  { name: "pipeline_event", key: { pipeline: 1, event: 1 } },
  { name: "pipeline_tags", key: { pipeline: 1, tags: 1 } },
  { name: "pipeline_status", key: { pipeline: 1, status: 1 } },
  { name: "pipeline_creation", key: { pipeline: 1, creation: 1 } },
  {
    name: "pipeline_locked",
    key: { pipeline: 1, "results.locked": 1 },
    partialFilterExpression: { "results.locked": true },
  },
];

export interface ResultFind {
  projection?: Record<string, 0 | 1> | undefined;
  skip: number;
  /** 0: no limit. */
  limit: number;
}

/** What a deposit did: ids newly kept, and ids that were already there (left as they were). */
export interface Kept {
  inserted: number;
  present: number;
}

export function resultStore(db: Db) {
  const collection: Collection<ResultDoc> = db.collection<ResultDoc>(RESULTS_COLLECTION);
  const filter = (query: Record<string, unknown>) => query as Filter<ResultDoc>;
  return {
    ensureIndexes: () => collection.createIndexes(RESULT_INDEXES),
    /**
     * Keeps each work unless its id is already kept: an upsert that only inserts, so a deposit
     * repeated after a crash, or two transfers racing, leave one copy and the first content.
     * Journaled: once answered, a result survives a crash of mongod, and the queue may drop it.
     */
    insertMissing: async (docs: ResultDoc[]): Promise<Kept> => {
      if (docs.length === 0) return { inserted: 0, present: 0 };
      const written = await collection.bulkWrite(
        docs.map((doc) => ({
          updateOne: {
            // The whole shard key, {pipeline, _id}: an upsert must name it.
            filter: { pipeline: doc.pipeline, _id: doc._id },
            update: { $setOnInsert: doc },
            upsert: true,
          },
        })),
        { ordered: false, writeConcern: { journal: true } },
      );
      return { inserted: written.upsertedCount, present: docs.length - written.upsertedCount };
    },
    /**
     * Replaces a kept result; a locked one only by a replacement that unlocks it. Answers whether
     * it was replaced (false: gone, or locked meanwhile).
     */
    replace: async (doc: ResultDoc, unlocking: boolean, stored: string): Promise<boolean> => {
      const { _id, ...rest } = doc;
      const guard = unlocking ? {} : { "results.locked": { $ne: true } };
      const { matchedCount } = await collection.replaceOne(
        // Where it is kept (the shard key, with `_id`), whatever pipeline the replacement names.
        filter({ pipeline: stored, _id, ...guard }),
        rest as ResultDoc,
        { writeConcern: { journal: true } },
      );
      return matchedCount === 1;
    },
    /** What deciding on a replacement or a deletion needs: owner, pipeline, lock, arrival. */
    findByIds: (ids: ObjectId[]) =>
      collection
        .find(
          { _id: { $in: ids } },
          {
            ...scatter("results by id alone: replacing and deleting"),
            projection: { pipeline: 1, user: 1, deposited: 1, "results.locked": 1 },
          },
        )
        .toArray(),
    remove: async (ids: ObjectId[]): Promise<number> =>
      (await collection.deleteMany({ _id: { $in: ids } }, scatter("deleting results by id alone")))
        .deletedCount,
    find: (query: Record<string, unknown>, { projection, skip, limit }: ResultFind) =>
      collection.find(filter(query), {
        ...(projection ? { projection } : {}),
        sort: { _id: 1 },
        skip,
        limit,
      }) as AsyncIterable<Partial<ResultDoc>>,
    count: (query: Record<string, unknown>) => collection.countDocuments(filter(query)),
    /** Results per pipeline, within `pipelines` when given. */
    countByPipeline: async (pipelines?: string[]): Promise<Record<string, number>> => {
      const rows = await collection
        .aggregate<{ _id: string; n: number }>([
          ...(pipelines ? [{ $match: { pipeline: { $in: pipelines } } }] : []),
          { $group: { _id: "$pipeline", n: { $sum: 1 } } },
          { $sort: { _id: 1 } },
        ])
        .toArray();
      return Object.fromEntries(rows.map((row) => [row._id, row.n]));
    },
  };
}

export type ResultStore = ReturnType<typeof resultStore>;

/** The API's view of a stored result (which may be projected). */
export function presentResult(doc: Partial<ResultDoc>): ResultView {
  const { _id, deposited: _d, updated: _u, ...rest } = doc;
  return _id ? { id: _id.toHexString(), ...(rest as Partial<Work>) } : (rest as ResultView);
}
