import type { Status } from "@workflow/work";
import type { Collection } from "mongodb";
import type { WorkDoc } from "./documents.js";

/** Counts by status, over all works or those of some pipelines. */
export async function countByStatus(
  collection: Collection<WorkDoc>,
  pipelines?: string[],
): Promise<Partial<Record<Status, number>>> {
  const rows = await collection
    .aggregate<{ _id: Status; n: number }>([
      ...(pipelines === undefined ? [] : [{ $match: { pipeline: { $in: pipelines } } }]),
      { $group: { _id: "$status", n: { $sum: 1 } } },
    ])
    .toArray();
  return Object.fromEntries(rows.map((r) => [r._id, r.n]));
}

/** Counts by pipeline and status, for the metrics. */
export async function countByPipelineAndStatus(
  collection: Collection<WorkDoc>,
): Promise<{ pipeline: string; status: Status; n: number }[]> {
  const rows = await collection
    .aggregate<{ _id: { pipeline: string; status: Status }; n: number }>([
      { $group: { _id: { pipeline: "$pipeline", status: "$status" }, n: { $sum: 1 } } },
    ])
    .toArray();
  return rows.map((r) => ({ pipeline: r._id.pipeline, status: r._id.status, n: r.n }));
}

export async function listPipelines(
  collection: Collection<WorkDoc>,
  within?: string[],
): Promise<string[]> {
  const names = await collection.distinct("pipeline", within ? { pipeline: { $in: within } } : {});
  return (names as string[]).sort();
}
