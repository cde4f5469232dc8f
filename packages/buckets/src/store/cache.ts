import type { Collection, IndexDescription, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { ofRun, type RunRef } from "./run-works.js";
import { scatter } from "./scatter.js";

/**
 * Successes by pipeline and key, newest first: a reuse looks up a few keys of one pipeline. Only
 * keyed successes are in it; works answered from the cache are, and are skipped by the filter
 * (they are a handful per key, one per run that reused it).
 */
export const CACHE_INDEX: IndexDescription = {
  name: "cache_pipeline_key",
  key: { pipeline: 1, key: 1, stop: -1 },
  partialFilterExpression: { status: "success", key: { $exists: true } },
};

/** What a reused work copies from the success it stands for. */
export type CacheSource = Pick<
  WorkDoc,
  "_id" | "key" | "stop" | "results" | "products" | "plots" | "archive"
>;

/** Whose works an expiry touches: some pipelines (all: none given), one user's (all: none). */
export interface Within {
  pipelines?: string[] | undefined;
  user?: string | undefined;
}

function scoped(within: Within): Record<string, unknown> {
  return {
    ...(within.pipelines ? { pipeline: { $in: within.pipelines } } : {}),
    ...(within.user === undefined ? {} : { user: within.user }),
  };
}

/** An expiry that names no pipeline (an admin's, of all of them) reaches every shard. */
const across = (within: Within) =>
  within.pipelines ? {} : scatter("an expiry of the cache in every pipeline");

/** How many keys one lookup asks for at most: a 10,000-work step is looked up in parts. */
const KEYS_PER_LOOKUP = 1000;

/** The cache's reads and writes: the successes that may stand in for new works, and expiry. */
export function cacheStore(collection: Collection<WorkDoc>) {
  return {
    /**
     * The newest usable success of each key in a pipeline that stopped at or after `since`: one
     * that ran (not itself answered from the cache) and was not expired.
     */
    sources: async (
      pipeline: string,
      keys: string[],
      since: number,
    ): Promise<Map<string, CacheSource>> => {
      const found = new Map<string, CacheSource>();
      const unique = [...new Set(keys)];
      for (let i = 0; i < unique.length; i += KEYS_PER_LOOKUP) {
        const rows = await collection
          .find(
            {
              pipeline,
              status: "success",
              key: { $in: unique.slice(i, i + KEYS_PER_LOOKUP) },
              stop: { $gte: since },
              cached: { $exists: false },
              keyExpired: { $exists: false },
            },
            {
              projection: { key: 1, stop: 1, results: 1, products: 1, plots: 1, archive: 1 },
              sort: { pipeline: 1, key: 1, stop: -1 },
            },
          )
          .toArray();
        for (const row of rows)
          if (!found.has(row.key as string)) found.set(row.key as string, row);
      }
      return found;
    },
    /** The keys of some steps' works in a run. */
    keysOf: async (run: RunRef, steps: string[]): Promise<string[]> => {
      const keys = await collection.distinct("key", { ...ofRun(run), step: { $in: steps } });
      return keys.filter((k): k is string => typeof k === "string");
    },
    /**
     * The run steps whose successes carry these keys (within the caller's works): their
     * dependents' keys were made from them. Successes only, so the cache's index serves it.
     */
    placesOf: async (
      within: Within,
      keys: string[],
    ): Promise<{ run: ObjectId; step: string }[]> => {
      if (keys.length === 0) return [];
      const rows = await collection
        .aggregate<{ _id: { run: ObjectId; step: string } }>(
          [
            {
              $match: {
                ...scoped(within),
                status: "success",
                key: { $in: keys, $exists: true },
                run: { $exists: true },
              },
            },
            { $group: { _id: { run: "$run", step: "$step" } } },
          ],
          across(within),
        )
        .toArray();
      return rows.map((r) => r._id);
    },
    /** Successes with these keys stop standing in for new works. */
    expireKeys: async (within: Within, keys: string[], now: number): Promise<number> => {
      if (keys.length === 0) return 0;
      const { modifiedCount } = await collection.updateMany(
        {
          ...scoped(within),
          status: "success",
          key: { $in: keys },
          keyExpired: { $exists: false },
        },
        { $set: { keyExpired: now } },
        across(within),
      );
      return modifiedCount;
    },
    /** Keyed successes that stopped before `before` stop standing in for new works. */
    expireOlder: async (within: Within, before: number, now: number): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        {
          ...scoped(within),
          status: "success",
          key: { $exists: true },
          stop: { $lt: before },
          keyExpired: { $exists: false },
        },
        { $set: { keyExpired: now } },
        across(within),
      );
      return modifiedCount;
    },
    /** Works a rerun named run again whatever the cache holds: marked until they are released. */
    markUncached: async (
      run: RunRef,
      chosen: { steps: string[]; ids?: ObjectId[] },
    ): Promise<number> => {
      const which = chosen.ids ? { _id: { $in: chosen.ids } } : { step: { $in: chosen.steps } };
      const { modifiedCount } = await collection.updateMany(
        { ...ofRun(run), status: "waiting", ...which },
        { $set: { uncached: true } },
      );
      return modifiedCount;
    },
  };
}

export type CacheStore = ReturnType<typeof cacheStore>;
