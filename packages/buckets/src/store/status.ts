/** Work counts by pipeline and status, read from an index and shared for a while once they cost. */

import type { Status } from "@workflow/work";
import type { Collection, Document } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

/**
 * Counts come from the `pipeline_status` index alone, in one aggregate: a covered index scan
 * grouped by pipeline and status. No work is read (the plans are checked in test/counts.test.ts).
 *
 * Not maintained counters: a counter is exact only if every status change updates it in the same
 * transaction, and here works change status through many conditional `updateMany`s (reaper,
 * audits, runs) whose pipelines are not known without reading them first, the retention TTL
 * deletes finished works behind the service's back, and a standalone mongod has no transactions. A
 * missed increment would be wrong for good; an index count is right as of when it ran.
 *
 * The scan still walks the keys it counts, so its cost grows with the works. Past LARGE works,
 * one count serves every request for a while (/status, /status/details and /metrics alike), the
 * while growing with what the count cost: the answer is at most FRESH_FOR_MS, or COST_SHARE times
 * its counting time, old (and so past MANY_ROWS pairs). Below both every request counts afresh, so a small service (and every
 * test) sees its own deposits at once.
 */
const LARGE = 100_000;
/**
 * Past this many pipeline and status pairs the same sharing applies: each request then builds an
 * answer of a row (or a gauge) per pair, and thousands of pipelines counted afresh 20 times a
 * second slowed every other request several times over.
 */
const MANY_ROWS = 1_000;
const FRESH_FOR_MS = 1_000;
/** Counting at most one tenth of the time, however often counts are asked for. */
const COST_SHARE = 10;
const INDEX = "pipeline_status";
const ONE_BATCH = 1_000_000;

export interface CountRow {
  pipeline: string;
  status: Status;
  n: number;
}

interface Table {
  rows: CountRow[];
  total: number;
  /** When the count started (performance.now()), and how long it took (ms). */
  at: number;
  took: number;
}

/** The counts of works by pipeline and status, shared by every request that asks for them. */
export function workCounts(collection: Collection<WorkDoc>) {
  let last: Table | undefined;
  let running: Promise<Table> | undefined;

  const count = async (): Promise<Table> => {
    const at = performance.now();
    const rows = await countAll(collection);
    const took = performance.now() - at;
    return { rows, total: rows.reduce((sum, r) => sum + r.n, 0), at, took };
  };
  const fresh = (): Promise<Table> => {
    running ??= count().finally(() => {
      running = undefined;
    });
    return running.then((table) => {
      if (!last || table.at > last.at) last = table;
      return table;
    });
  };
  const table = async (): Promise<CountRow[]> => {
    if (last && (last.total >= LARGE || last.rows.length >= MANY_ROWS)) {
      const age = performance.now() - last.at;
      if (age <= Math.max(FRESH_FOR_MS, COST_SHARE * last.took)) return last.rows;
      return (await fresh()).rows;
    }
    // Small: a count of our own, never one that started before this request (and so before a
    // deposit this client just made).
    const table = await count();
    if (!last || table.at > last.at) last = table;
    return table.rows;
  };

  return {
    byPipelineAndStatus: table,
    /** Over all works, or those of some pipelines. */
    byStatus: async (pipelines?: string[]): Promise<Partial<Record<Status, number>>> => {
      const counts: Partial<Record<Status, number>> = {};
      for (const { pipeline, status, n } of await table()) {
        if (pipelines && !pipelines.includes(pipeline)) continue;
        counts[status] = (counts[status] ?? 0) + n;
      }
      return counts;
    },
    /** The plans of the commands a count runs, with execution statistics. */
    explain: () => explainAll(collection),
  };
}

export type WorkCounts = ReturnType<typeof workCounts>;

/**
 * One aggregate, whatever the number of pipelines: a covered scan of the index grouped by pipeline
 * and status. (A distinct per pipeline and a count per pair cost two commands per pipeline: with
 * thousands of pipelines each /status took seconds and slowed every other request.)
 */
async function countAll(collection: Collection<WorkDoc>): Promise<CountRow[]> {
  // One batch as far as 16 MB go (a row is some 60 bytes): no getMore per hundred pipelines.
  const rows = await collection
    .aggregate(COUNT_PIPELINE, {
      ...scatter("counts across pipelines"),
      hint: INDEX,
      batchSize: ONE_BATCH,
    })
    .toArray();
  return rows.map((row) => ({ pipeline: row._id.p, status: row._id.s, n: row.n }));
}

const COUNT_PIPELINE: Document[] = [
  { $group: { _id: { p: "$pipeline", s: "$status" }, n: { $sum: 1 } } },
  // In the order the answers always had: by pipeline, then status.
  { $sort: { _id: 1 } },
];

async function explainAll(collection: Collection<WorkDoc>): Promise<Document[]> {
  return [await collection.aggregate(COUNT_PIPELINE, { hint: INDEX }).explain("executionStats")];
}

export async function listPipelines(
  collection: Collection<WorkDoc>,
  within?: string[],
): Promise<string[]> {
  const names = await collection.distinct("pipeline", within ? { pipeline: { $in: within } } : {});
  return (names as string[]).sort();
}
