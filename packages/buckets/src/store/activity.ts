/**
 * The store's reads for the dashboard's activity: works ended by the minute, and worker sightings.
 */

import type { Collection, Document } from "mongodb";
import type { WorkDoc } from "./documents.js";

/** The index behind the dashboard's last hour: works by when their last attempt stopped. */
export const STOP_INDEX = "stop_status_pipeline";

/** Statuses an ended attempt leaves a work in, as charted per minute. */
export const ENDED = ["success", "failure"] as const;

export interface MinuteRow {
  /** The minute's start, unix seconds. */
  minute: number;
  status: (typeof ENDED)[number];
  n: number;
}

export interface Sighting {
  worker: string;
  pipeline: string;
  status: string;
  /** The attempt's start, or its stop when it ended (unix seconds). */
  at: number;
}

/**
 * Reads for the dashboard. The minutes are a covered scan of STOP_INDEX (no work is read), so their
 * cost follows the works that ended in the window, never the works stored. The workers are read
 * from at most `limit` running works (the `lease` index) and `limit` recently stopped ones.
 */
export function activityStore(collection: Collection<WorkDoc>) {
  return {
    endedPerMinute: async (since: number, pipelines?: string[]): Promise<MinuteRow[]> => {
      const rows = await collection
        .aggregate(minutesPipeline(since, pipelines), { hint: STOP_INDEX })
        .toArray();
      return rows.map((row) => ({ minute: row._id.m, status: row._id.s, n: row.n }));
    },
    explainMinutes: (since: number) =>
      collection.aggregate(minutesPipeline(since), { hint: STOP_INDEX }).explain("executionStats"),
    sightings: async (since: number, limit: number, pipelines?: string[]): Promise<Sighting[]> => {
      const within = pipelines ? { pipeline: { $in: pipelines } } : {};
      const projection = { _id: 0, pipeline: 1, status: 1, history: { $slice: -1 } };
      const [running, stopped] = await Promise.all([
        collection
          // Every running work has a lease (the claim sets it): the partial index holds them all.
          .find(
            { status: "running", leaseUntil: { $exists: true }, ...within },
            { projection, hint: "lease", limit },
          )
          .toArray(),
        collection
          .find(
            { stop: { $gte: since }, ...within },
            { projection, hint: STOP_INDEX, sort: { stop: -1 }, limit },
          )
          .toArray(),
      ]);
      return [...running, ...stopped].flatMap((doc) => {
        const last = doc.history?.at(-1);
        if (!last?.worker) return [];
        const at = last.stop ?? last.start ?? 0;
        return [{ worker: last.worker, pipeline: doc.pipeline, status: doc.status, at }];
      });
    },
    explainSightings: (since: number, limit: number) =>
      collection
        .find({ stop: { $gte: since } }, { hint: STOP_INDEX, sort: { stop: -1 }, limit })
        .explain("executionStats"),
  };
}

export type ActivityStore = ReturnType<typeof activityStore>;

function minutesPipeline(since: number, pipelines?: string[]): Document[] {
  return [
    {
      $match: {
        stop: { $gte: since },
        status: { $in: [...ENDED] },
        ...(pipelines ? { pipeline: { $in: pipelines } } : {}),
      },
    },
    {
      $group: {
        _id: { m: { $subtract: ["$stop", { $mod: ["$stop", 60] }] }, s: "$status" },
        n: { $sum: 1 },
      },
    },
  ];
}
