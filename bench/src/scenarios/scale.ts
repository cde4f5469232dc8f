import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AnyBulkWriteOperation, Document } from "mongodb";
import { busyMeter } from "../busy.js";
import { type Harness, queuedDoc, type Service, workIndexes } from "../harness.js";
import { latencies, log, median, p50p99, round } from "../stats.js";
import { endToEndOn } from "./endtoend.js";

/** As the end-to-end scenario: 4 worker processes at concurrency 8, so 32 loops. */
const LOOPS = 32;
/** Works one loop claims per command: the service's batch claim, as a busy queue makes it. */
const CLAIM_BATCH = 50;
const JOURNALED = { writeConcern: { journal: true } } as const;

/**
 * The batched limit: what the same mongod does for the least each work needs (inserted, claimed,
 * completed, each journaled) with the best batching the driver allows: inserts of 1,000, claims of
 * 50 by one conditional update per batch, completions by one bulk write per batch. 32 loops, timed
 * from the first insert, the loops already polling. Each work is dealt to one loop (`slot`) when
 * it is inserted, so loops never contend for the same candidates: a real queue cannot know its
 * claimers in advance, which is what makes this a bound and not a rival.
 */
async function limit(
  h: Harness,
  n: number,
): Promise<{ rate: number; busy: Record<string, number> }> {
  const collection = h.db.collection("limit-e2e");
  await collection.drop().catch(() => {});
  await collection.createIndexes([
    ...(await workIndexes(h)),
    { key: { pipeline: 1, slot: 1, status: 1, priority: -1, received: 1 }, name: "bySlot" },
  ]);
  let done = 0;
  let inserting = true;
  const busy = busyMeter({ bench: [process.pid], mongod: [h.mongodPid] });
  const started = performance.now();
  const claimFrom = async (slot: number): Promise<boolean> => {
    const now = Date.now() / 1000;
    const claimable = { pipeline: "e2e", slot, status: "queued", notBefore: { $lte: now } };
    const candidates = await collection
      .find(claimable, { sort: { priority: -1, received: 1 }, limit: CLAIM_BATCH })
      .toArray();
    if (candidates.length === 0) {
      if (!inserting && done >= n) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return true;
    }
    const claimed = await collection.updateMany(
      { ...claimable, _id: { $in: candidates.map((c) => c._id) } },
      { $set: { status: "running", start: now, leaseUntil: now + 60 }, $inc: { attempt: 1 } },
      JOURNALED,
    );
    // Nobody else claims from this slot, so every candidate is this loop's.
    if (claimed.modifiedCount !== candidates.length) throw new Error("limit: a slot was shared");
    const stop = Date.now() / 1000;
    const ops: AnyBulkWriteOperation<Document>[] = candidates.map((work) => ({
      updateOne: {
        filter: { _id: work._id, pipeline: "e2e", status: "running", attempt: work.attempt + 1 },
        update: { $set: { status: "success", stop }, $unset: { leaseUntil: "" } },
      },
    }));
    await collection.bulkWrite(ops, { ordered: false, ...JOURNALED });
    done += candidates.length;
    return done < n;
  };
  const loops = Promise.all(
    Array.from({ length: LOOPS }, async (_, slot) => {
      while (await claimFrom(slot)) {
        // keep going
      }
    }),
  );
  for (let at = 0; at < n; at += 1_000) {
    await collection.insertMany(
      Array.from({ length: Math.min(1_000, n - at) }, (_, i) => ({
        ...queuedDoc(at + i, "e2e"),
        slot: (at + i) % LOOPS,
      })),
      JOURNALED,
    );
  }
  inserting = false;
  await loops;
  return { rate: n / ((performance.now() - started) / 1000), busy: busy() };
}

/** Claim latency with `depth` works queued over three pipelines, for one- and three-pipeline workers. */
async function deepClaims(h: Harness, depth: number, samples: number) {
  const pipelines = ["deep-0", "deep-1", "deep-2"];
  await h.works.deleteMany({});
  for (let at = 0; at < depth; at += 10_000) {
    await h.works.insertMany(
      Array.from({ length: Math.min(10_000, depth - at) }, (_, i) =>
        queuedDoc(at + i, pipelines[(at + i) % pipelines.length]),
      ),
      { ordered: false },
    );
  }
  await h.mongo.db("admin").command({ fsync: 1 });
  const one = { pipeline: "deep-0" };
  const three = { pipeline: { $in: pipelines } };
  const claim = (filter: unknown) => () => h.http("POST", "/work/withdraw", filter);
  await latencies(30, claim(one));
  await latencies(30, claim(three));
  // Interleaved in blocks, so that both meet the same machine.
  const ones: number[] = [];
  const threes: number[] = [];
  for (let i = 0; i < samples; i += 25) {
    ones.push(...(await latencies(25, claim(one))));
    threes.push(...(await latencies(25, claim(three))));
  }
  return { onePipeline: p50p99(ones), threePipelines: p50p99(threes), queued: depth };
}

export async function scaleScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 400 : 5_000;
  const cwd = mkdtempSync(join(tmpdir(), "bench-scale-"));
  writeFileSync(join(cwd, "noop.mjs"), "export const noop = () => ({});\n");
  const extra: Service[] = [];
  try {
    extra.push(await h.startInstance(), await h.startInstance());
    const sets = [[h], [h, extra[0] as Service], [h, ...extra]];
    await endToEndOn(h, [h], 100, cwd); // warm-up
    const rates: number[][] = sets.map(() => []);
    const busy: Record<string, Record<string, number>> = {};
    const limits: number[] = [];
    let limitBusy: Record<string, number> = {};
    // Alternated, so that a slow spell of the machine weighs on every side.
    for (let run = 0; run < runs; run++) {
      for (const [k, set] of sets.entries()) {
        const measured = await endToEndOn(h, set, n, cwd);
        rates[k]?.push(measured.rate);
        busy[`instances${k + 1}`] = measured.busy;
      }
      const measured = await limit(h, n);
      limits.push(measured.rate);
      limitBusy = measured.busy;
    }
    const [one = 0, two = 0, three = 0] = rates.map(median);
    const bound = median(limits);
    const deep = await deepClaims(h, quick ? 20_000 : 100_000, quick ? 100 : 300);
    log(
      `scale: 1/2/3 instances ${round(one)}/${round(two)}/${round(three)} works/s, batched limit ${round(bound)}/s; claims at ${deep.queued}: ${JSON.stringify(deep)}`,
    );
    return {
      endToEndLimit: {
        ours: round(one),
        baseline: round(bound),
        ratio: round(one / bound),
        unit: "works/s (baseline: the batched limit on the bare driver)",
        works: n,
        busy: { ours: busy.instances1, limit: limitBusy },
      },
      instances: {
        one: round(one),
        two: round(two),
        three: round(three),
        ratioTwo: round(two / one),
        ratioThree: round(three / one),
        unit: "works/s end to end, workers spread over the instances, one mongod",
        works: n,
        busy,
      },
      deepClaims: { ...deep, unit: "ms per claim (p50, p99)" },
    };
  } finally {
    await Promise.all(extra.map((s) => s.stop()));
    rmSync(cwd, { recursive: true, force: true });
  }
}
