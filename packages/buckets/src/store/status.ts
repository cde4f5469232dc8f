import type { Status } from "@workflow/work";
import type { Collection, Db, Document } from "mongodb";
import type { WorkDoc } from "./documents.js";

/**
 * Counts come from the `pipeline_status` index alone: the pipelines and each pipeline's statuses by
 * DISTINCT_SCAN (a skip from one key to the next), then one COUNT_SCAN per pipeline and status
 * present. No work is read (the plans are checked in test/counts.test.ts).
 *
 * Not maintained counters: a counter is exact only if every status change updates it in the same
 * transaction, and here works change status through many conditional `updateMany`s (reaper,
 * audits, runs) whose pipelines are not known without reading them first, the retention TTL
 * deletes finished works behind the service's back, and a standalone mongod has no transactions. A
 * missed increment would be wrong for good; an index count is right as of when it ran.
 *
 * A COUNT_SCAN still walks the keys it counts, so its cost grows with the works. Past LARGE works,
 * one count serves every request for a while (/status, /status/details and /metrics alike), the
 * while growing with what the count cost: the answer is at most FRESH_FOR_MS, or COST_SHARE times
 * its counting time, old. Below LARGE every request counts afresh, so a small service (and every
 * test) sees its own deposits at once.
 */
const LARGE = 100_000;
const FRESH_FOR_MS = 1_000;
/** Counting at most one tenth of the time, however often counts are asked for. */
const COST_SHARE = 10;
const INDEX = "pipeline_status";

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
export function workCounts(db: Db, collection: Collection<WorkDoc>) {
  let last: Table | undefined;
  let running: Promise<Table> | undefined;

  const count = async (): Promise<Table> => {
    const at = performance.now();
    const rows = await countAll(db, collection);
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
    if (last && last.total >= LARGE) {
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
    explain: () => explainAll(db, collection),
  };
}

export type WorkCounts = ReturnType<typeof workCounts>;

/** The commands behind one count: the pipelines, each one's statuses, one count per pair. */
async function countAll(db: Db, collection: Collection<WorkDoc>): Promise<CountRow[]> {
  const pairs = await presentPairs(db, collection);
  return Promise.all(
    pairs.map(async ({ pipeline, status }) => {
      const { n } = await db.command(countCommand(collection, pipeline, status));
      return { pipeline, status, n: n as number };
    }),
  );
}

async function presentPairs(
  db: Db,
  collection: Collection<WorkDoc>,
): Promise<{ pipeline: string; status: Status }[]> {
  const { values: pipelines } = await db.command(distinctCommand(collection, "pipeline", {}));
  const perPipeline = await Promise.all(
    (pipelines as string[]).map(async (pipeline) => {
      const { values } = await db.command(distinctCommand(collection, "status", { pipeline }));
      return (values as Status[]).map((status) => ({ pipeline, status }));
    }),
  );
  return perPipeline.flat();
}

// Commands rather than the driver's helpers: the same documents are explained in the test.
// mongod 7.0's distinct takes no hint; its planner picks a DISTINCT_SCAN of its own accord.
const distinctCommand = (collection: Collection<WorkDoc>, key: string, query: Document) => ({
  distinct: collection.collectionName,
  key,
  query,
});

const countCommand = (collection: Collection<WorkDoc>, pipeline: string, status: Status) => ({
  count: collection.collectionName,
  query: { pipeline, status },
  hint: INDEX,
});

async function explainAll(db: Db, collection: Collection<WorkDoc>): Promise<Document[]> {
  const pairs = await presentPairs(db, collection);
  const commands = [
    distinctCommand(collection, "pipeline", {}),
    ...[...new Set(pairs.map((p) => p.pipeline))].map((pipeline) =>
      distinctCommand(collection, "status", { pipeline }),
    ),
    ...pairs.map(({ pipeline, status }) => countCommand(collection, pipeline, status)),
  ];
  return Promise.all(
    commands.map((explain) => db.command({ explain, verbosity: "executionStats" })),
  );
}

export async function listPipelines(
  collection: Collection<WorkDoc>,
  within?: string[],
): Promise<string[]> {
  const names = await collection.distinct("pipeline", within ? { pipeline: { $in: within } } : {});
  return (names as string[]).sort();
}
