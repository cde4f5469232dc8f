import type { Status } from "@workflow/work";
import type { AnyBulkWriteOperation, Collection, ObjectId } from "mongodb";
import { TRANSITIONS } from "../machine.js";
import { cancelUpdate } from "./cancel.js";
import type { WorkDoc } from "./documents.js";
import type { LogStore } from "./logs.js";
import { scatter } from "./scatter.js";
import { fromFilter, transitionUpdate } from "./transitions.js";

/**
 * Counts of one step's works by status; `retrying` are failures with a retry to come, `cached`
 * successes answered from the cache.
 */
export interface StepCounts {
  byStatus: Partial<Record<Status, number>>;
  retrying: number;
  cached: number;
}

/** A waiting work released with its filled fields. */
export interface Unblock {
  _id: ObjectId;
  /** The work's pipeline: the shard key the write names. */
  pipeline: string;
  set: Partial<WorkDoc>;
}

/** What a release reads of a waiting work: its template, and what its key is made of. */
const WAITING_PROJECTION = {
  _id: 1,
  template: 1,
  index: 1,
  pipeline: 1,
  site: 1,
  function: 1,
  command: 1,
  parameters: 1,
  version: 1,
  cache: 1,
  uncached: 1,
  origins: 1,
} as const;

/**
 * Which works a rerun sends back: the chosen ones (only failures with `failedOnly`, all but
 * successes with `unfinishedOnly`), and every finished work of the `downstream` steps.
 */
function rerunFilter(
  chosen: { steps: string[]; ids?: ObjectId[]; failedOnly: boolean; unfinishedOnly?: boolean },
  downstream: string[],
): object[] {
  const from: string[] = [...TRANSITIONS.rerun.from];
  const own = chosen.failedOnly
    ? ["failure"]
    : chosen.unfinishedOnly
      ? from.filter((s) => s !== "success")
      : from;
  const or: object[] = [];
  if (chosen.ids) or.push({ _id: { $in: chosen.ids }, status: { $in: own } });
  else if (chosen.steps.length > 0) or.push({ step: { $in: chosen.steps }, status: { $in: own } });
  if (downstream.length > 0) or.push({ step: { $in: downstream }, status: { $in: from } });
  return or;
}

/**
 * A run's works are found by run, which is no shard key: each of these reaches every shard once
 * works are sharded (README, Sizing), until they name the run's pipelines too.
 */
const byRun = scatter("a run's works, by run");

/** Works of runs: counted, released, skipped, cancelled and re-run by step. */
export function runWorkStore(collection: Collection<WorkDoc>, logs: LogStore) {
  return {
    /** Counts by step and status, from the run's index alone. */
    counts: async (run: ObjectId): Promise<Map<string, StepCounts>> => {
      const rows = await collection
        .aggregate<{
          _id: { step: string; status: Status; retrying: boolean; cached: boolean };
          n: number;
        }>(
          [
            { $match: { run } },
            {
              $group: {
                _id: {
                  step: "$step",
                  status: "$status",
                  retrying: { $gt: ["$retryAt", null] },
                  cached: { $gt: ["$cached", null] },
                },
                n: { $sum: 1 },
              },
            },
          ],
          byRun,
        )
        .toArray();
      const counts = new Map<string, StepCounts>();
      for (const { _id, n } of rows) {
        const step = counts.get(_id.step) ?? { byStatus: {}, retrying: 0, cached: 0 };
        step.byStatus[_id.status] = (step.byStatus[_id.status] ?? 0) + n;
        if (_id.retrying) step.retrying += n;
        if (_id.cached) step.cached += n;
        counts.set(_id.step, step);
      }
      return counts;
    },
    /** The keys and data digests (and results, unless told) of some steps' works, in matrix order. */
    results: (run: ObjectId, steps: string[], withResults = true) =>
      collection
        .find(
          { run, step: { $in: steps } },
          {
            ...byRun,
            projection: {
              step: 1,
              index: 1,
              status: 1,
              key: 1,
              "archive.digests": 1,
              combination: 1,
              origins: 1,
              ...(withResults ? { results: 1 } : {}),
            },
            sort: { step: 1, index: 1 },
          },
        )
        .toArray(),
    /** The next waiting works of a step, in matrix order. */
    waiting: (run: ObjectId, step: string, limit: number) =>
      collection
        .find(
          { run, step, status: "waiting" },
          { ...byRun, projection: WAITING_PROJECTION, sort: { index: 1 }, limit },
        )
        .toArray(),
    /**
     * waiting -> queued (or -> success, reused), each guarded by its status: a work is released
     * once whoever tries.
     */
    unblock: async (releases: Unblock[]): Promise<number> => {
      if (releases.length === 0) return 0;
      const ops: AnyBulkWriteOperation<WorkDoc>[] = releases.map(({ _id, pipeline, set }) => ({
        updateOne: {
          filter: { _id, pipeline, ...fromFilter("unblock") },
          // A reused work's set carries its status (TRANSITIONS.reuse): the one write stores it whole.
          update: { $set: { status: TRANSITIONS.unblock.to, notBefore: 0, ...set } },
        },
      }));
      const result = await collection.bulkWrite(ops, {
        ordered: false,
        writeConcern: { journal: true },
      });
      return result.modifiedCount;
    },
    /** queued -> waiting for a paused run's works (or one step's), so that none is claimed. */
    pause: async (run: ObjectId, step?: string): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { run, ...(step === undefined ? {} : { step }), ...fromFilter("pause") },
        transitionUpdate("pause", {}),
      );
      return modifiedCount;
    },
    /** queued -> waiting for at most `limit` of a run's works, the last in matrix order first. */
    unqueue: async (run: ObjectId, limit: number): Promise<number> => {
      const ids = await collection
        .find(
          { run, ...fromFilter("pause") },
          { projection: { _id: 1 }, sort: { index: -1 }, limit },
        )
        .map((doc) => doc._id)
        .toArray();
      if (ids.length === 0) return 0;
      const { modifiedCount } = await collection.updateMany(
        { _id: { $in: ids }, ...fromFilter("pause") },
        transitionUpdate("pause", {}),
      );
      return modifiedCount;
    },
    /** Counts what `rerun` would send back to waiting, without changing anything. */
    rerunnable: (
      run: ObjectId,
      chosen: { steps: string[]; ids?: ObjectId[]; failedOnly: boolean; unfinishedOnly?: boolean },
      downstream: string[],
    ) => {
      const or = rerunFilter(chosen, downstream);
      return or.length === 0 ? Promise.resolve(0) : collection.countDocuments({ run, $or: or });
    },
    /** waiting -> skipped for every work of a step. */
    skip: async (run: ObjectId, step: string, now: number): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { run, step, ...fromFilter("skip") },
        transitionUpdate("skip", { stop: now }),
        byRun,
      );
      return modifiedCount;
    },
    /** waiting -> skipped for some works (filled templates too large to store). */
    skipIds: async (ids: ObjectId[], now: number): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { _id: { $in: ids }, ...fromFilter("skip") },
        transitionUpdate("skip", { stop: now }),
        byRun,
      );
      return modifiedCount;
    },
    /** Deletes a step's works: a step made from results is made again, all or nothing. */
    removeStep: async (run: ObjectId, step: string): Promise<number> => {
      const ids = await collection
        .find({ run, step }, { projection: { _id: 1 } })
        .map((doc) => doc._id)
        .toArray();
      if (ids.length === 0) return 0;
      const { deletedCount } = await collection.deleteMany({ run, step });
      await logs.removeFor(ids);
      return deletedCount;
    },
    /** Cancels the unfinished works of a run (or of one step of it). */
    cancel: async (run: ObjectId, now: number, step?: string): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { run, ...(step === undefined ? {} : { step }), ...fromFilter("cancel") },
        cancelUpdate(now),
        byRun,
      );
      return modifiedCount;
    },
    /** Deletes the works of some steps of a run (replaced by a merge), and their logs. */
    removeSteps: async (run: ObjectId, steps: string[]): Promise<number> => {
      if (steps.length === 0) return 0;
      const filter = { run, step: { $in: steps } };
      const ids = await collection
        .find(filter, { projection: { _id: 1 } })
        .map((doc) => doc._id)
        .toArray();
      const { deletedCount } = await collection.deleteMany(filter);
      await logs.removeFor(ids);
      return deletedCount;
    },
    /** Deletes a run's works, and their logs with them. */
    remove: async (run: ObjectId): Promise<number> => {
      const ids = await collection
        .find({ run }, { ...byRun, projection: { _id: 1 } })
        .map((doc) => doc._id)
        .toArray();
      const { deletedCount } = await collection.deleteMany({ run }, byRun);
      await logs.removeFor(ids);
      return deletedCount;
    },
    /**
     * Finished works of a run back to waiting, with fresh retries: the chosen steps' works
     * (only failures when `failedOnly`), and every work of the `downstream` steps.
     */
    rerun: async (
      run: ObjectId,
      chosen: { steps: string[]; ids?: ObjectId[]; failedOnly: boolean; unfinishedOnly?: boolean },
      downstream: string[],
    ): Promise<number> => {
      const or = rerunFilter(chosen, downstream);
      if (or.length === 0) return 0;
      const { modifiedCount } = await collection.updateMany(
        { run, $or: or },
        // Fresh retries, and nothing left of the outcome it had.
        transitionUpdate("rerun", { uncounted: "$attempt" }),
        byRun,
      );
      return modifiedCount;
    },
  };
}

export type RunWorkStore = ReturnType<typeof runWorkStore>;
