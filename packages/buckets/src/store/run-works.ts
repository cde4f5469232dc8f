import type { Status } from "@workflow/work";
import type { AnyBulkWriteOperation, Collection, Filter, ObjectId } from "mongodb";
import { TRANSITIONS } from "../machine.js";
import { cancelUpdate } from "./cancel.js";
import type { WorkDoc } from "./documents.js";
import type { LogStore } from "./logs.js";
import type { RunDoc } from "./runs.js";
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

/** A run as its works are found: by id, on the shards of its pipelines (README, Sizing). */
export type RunRef = Pick<RunDoc, "_id" | "pipelines">;

/**
 * The filter of a run's works. `run` is no shard key, so each query also names the run's pipelines
 * (kept on the run as it is created, merged and grows): mongos sends it to those shards only.
 */
export const ofRun = (run: RunRef) => ({ pipeline: { $in: run.pipelines }, run: run._id });

/** Works of runs: counted, released, skipped, cancelled and re-run by step. */
export function runWorkStore(collection: Collection<WorkDoc>, logs: LogStore) {
  /** Deletes a run's works that match (the filter names the run by `ofRun`), and their logs. */
  const removeWhere = async (filter: Filter<WorkDoc>): Promise<number> => {
    const ids = await collection
      .find(filter, { projection: { _id: 1 } })
      .map((doc) => doc._id)
      .toArray();
    if (ids.length === 0) return 0;
    const { deletedCount } = await collection.deleteMany(filter);
    await logs.removeFor(ids);
    return deletedCount;
  };
  return {
    /** Counts by step and status, from the run's index alone. */
    counts: async (run: RunRef): Promise<Map<string, StepCounts>> => {
      const rows = await collection
        .aggregate<{
          _id: { step: string; status: Status; retrying: boolean; cached: boolean };
          n: number;
        }>([
          { $match: ofRun(run) },
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
        ])
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
    /**
     * The keys and data digests (and results, unless told) of some steps' works, in matrix order;
     * of the steps `only` names, their works of those indexes alone.
     */
    results: (run: RunRef, steps: string[], withResults = true, only?: Map<string, number[]>) =>
      collection
        .find(
          only === undefined || only.size === 0
            ? { ...ofRun(run), step: { $in: steps } }
            : {
                ...ofRun(run),
                $or: [
                  { step: { $in: steps.filter((s) => !only.has(s)) } },
                  ...[...only].map(([step, indexes]) => ({ step, index: { $in: indexes } })),
                ],
              },
          {
            projection: {
              step: 1,
              index: 1,
              status: 1,
              key: 1,
              "archive.digests": 1,
              matrix: 1,
              origins: 1,
              ...(withResults ? { results: 1 } : {}),
            },
            sort: { step: 1, index: 1 },
          },
        )
        .toArray(),
    /**
     * The next waiting works of a step, in matrix order; with `lines`, only those whose own work
     * of step `lines.from` is one of `lines.indexes`.
     */
    waiting: (
      run: RunRef,
      step: string,
      limit: number,
      lines?: { from: string; indexes: number[] },
    ) =>
      collection
        .find(
          {
            ...ofRun(run),
            step,
            status: "waiting",
            ...(lines ? { [`origins.${lines.from}`]: { $in: lines.indexes } } : {}),
          },
          { projection: WAITING_PROJECTION, sort: { index: 1 }, limit },
        )
        .toArray(),
    /** The indexes of a step's works that succeeded: the lines after it that may start. */
    succeeded: (run: RunRef, step: string): Promise<number[]> =>
      collection
        .find({ ...ofRun(run), step, status: "success" }, { projection: { index: 1 } })
        .map((doc) => doc.index as number)
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
    pause: async (run: RunRef, step?: string): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { ...ofRun(run), ...(step === undefined ? {} : { step }), ...fromFilter("pause") },
        transitionUpdate("pause", {}),
      );
      return modifiedCount;
    },
    /** queued -> waiting for at most `limit` of a run's works, the last in matrix order first. */
    unqueue: async (run: RunRef, limit: number): Promise<number> => {
      const ids = await collection
        .find(
          { ...ofRun(run), ...fromFilter("pause") },
          { projection: { _id: 1 }, sort: { index: -1 }, limit },
        )
        .map((doc) => doc._id)
        .toArray();
      if (ids.length === 0) return 0;
      const { modifiedCount } = await collection.updateMany(
        { pipeline: { $in: run.pipelines }, _id: { $in: ids }, ...fromFilter("pause") },
        transitionUpdate("pause", {}),
      );
      return modifiedCount;
    },
    /** Counts what `rerun` would send back to waiting, without changing anything. */
    rerunnable: (
      run: RunRef,
      chosen: { steps: string[]; ids?: ObjectId[]; failedOnly: boolean; unfinishedOnly?: boolean },
      downstream: string[],
    ) => {
      const or = rerunFilter(chosen, downstream);
      return or.length === 0
        ? Promise.resolve(0)
        : collection.countDocuments({ ...ofRun(run), $or: or });
    },
    /** waiting -> skipped for every work of a step. */
    skip: async (run: RunRef, step: string, now: number): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { ...ofRun(run), step, ...fromFilter("skip") },
        transitionUpdate("skip", { stop: now }),
      );
      return modifiedCount;
    },
    /** waiting -> skipped for some works (filled templates too large to store). */
    skipIds: async (run: RunRef, ids: ObjectId[], now: number): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        { pipeline: { $in: run.pipelines }, _id: { $in: ids }, ...fromFilter("skip") },
        transitionUpdate("skip", { stop: now }),
      );
      return modifiedCount;
    },
    /** Deletes a step's works: a step made from results is made again, all or nothing. */
    removeStep: (run: RunRef, step: string): Promise<number> =>
      removeWhere({ ...ofRun(run), step }),
    /** Cancels the unfinished works of a run (or of one step of it), but those a merge made. */
    cancel: async (run: RunRef, now: number, step?: string, except?: ObjectId): Promise<number> => {
      const { modifiedCount } = await collection.updateMany(
        {
          ...ofRun(run),
          ...(step === undefined ? {} : { step }),
          ...(except === undefined ? {} : { merged: { $ne: except } }),
          ...fromFilter("cancel"),
        },
        cancelUpdate(now),
      );
      return modifiedCount;
    },
    /**
     * Deletes the works of some steps of a run (replaced by a merge), and their logs; the works
     * that merge made (`except`) stay.
     */
    removeSteps: async (run: RunRef, steps: string[], except?: ObjectId): Promise<number> => {
      if (steps.length === 0) return 0;
      const filter = {
        ...ofRun(run),
        step: { $in: steps },
        ...(except === undefined ? {} : { merged: { $ne: except } }),
      };
      return removeWhere(filter);
    },
    /** How many works a merge made have been stored. */
    countMerged: (run: RunRef, merge: ObjectId): Promise<number> =>
      collection.countDocuments({ ...ofRun(run), merged: merge }),
    /** Deletes the works a merge made: a merge cut short while storing them is undone. */
    removeMerged: (run: RunRef, merge: ObjectId): Promise<number> =>
      removeWhere({ ...ofRun(run), merged: merge }),
    /** Deletes a run's works, and their logs with them. */
    remove: (run: RunRef): Promise<number> => removeWhere(ofRun(run)),
    /**
     * Finished works of a run back to waiting, with fresh retries: the chosen steps' works
     * (only failures when `failedOnly`), and every work of the `downstream` steps.
     */
    rerun: async (
      run: RunRef,
      chosen: { steps: string[]; ids?: ObjectId[]; failedOnly: boolean; unfinishedOnly?: boolean },
      downstream: string[],
    ): Promise<number> => {
      const or = rerunFilter(chosen, downstream);
      if (or.length === 0) return 0;
      const { modifiedCount } = await collection.updateMany(
        { ...ofRun(run), $or: or },
        // Fresh retries, and nothing left of the outcome it had.
        transitionUpdate("rerun", { uncounted: "$attempt" }),
      );
      return modifiedCount;
    },
  };
}

export type RunWorkStore = ReturnType<typeof runWorkStore>;
