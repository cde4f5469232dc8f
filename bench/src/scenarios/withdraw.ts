/** Scenario: claims per second through the service against a bare findOneAndUpdate loop. */

import type { IndexDescription } from "mongodb";
import { busyMeter } from "../busy.js";
import { concurrently, type Harness, queuedDoc, workIndexes } from "../harness.js";
import { log, medianOf, round } from "../stats.js";

const CONCURRENCY = 16;

/**
 * A fresh collection of `n` queued works, with the service's indexes. Dropped and made again rather
 * than emptied: a deleteMany leaves the claim indexes' head full of deleted entries that every
 * later claim steps over, so each run would be slower than the one before.
 */
async function seed(h: Harness, collection: string, n: number, indexes: IndexDescription[]) {
  await h.db
    .collection(collection)
    .drop()
    .catch(() => undefined);
  const target = h.db.collection(collection);
  await target.createIndexes(indexes);
  for (let at = 0; at < n; at += 5_000) {
    await target.insertMany(
      Array.from({ length: Math.min(5_000, n - at) }, (_, i) => queuedDoc(at + i)),
    );
  }
}

/** How busy each process was during the last service measurement (CPU seconds per second). */
let lastBusy: Record<string, number> = {};

/** Claims/s through the service (one per request, or `count` per request) at concurrency 16. */
async function service(
  h: Harness,
  indexes: IndexDescription[],
  n: number,
  count?: number,
): Promise<number> {
  await seed(h, "works", n, indexes);
  const busy = busyMeter({ service: [h.process.pid], mongod: [h.mongodPid], bench: [process.pid] });
  const started = performance.now();
  await concurrently(CONCURRENCY, async () => {
    const path = count ? `/work/withdraw?count=${count}` : "/work/withdraw";
    const got = await h.http<unknown>("POST", path, { pipeline: "bench" });
    return Array.isArray(got) ? got.length > 0 : got !== null;
  });
  lastBusy = busy();
  return n / ((performance.now() - started) / 1000);
}

/** The bare driver: the same claim as a plain findOneAndUpdate loop, same indexes and documents. */
async function bare(h: Harness, indexes: IndexDescription[], n: number): Promise<number> {
  const collection = h.db.collection("bare");
  await seed(h, "bare", n, indexes);
  const started = performance.now();
  await concurrently(CONCURRENCY, async () => {
    const now = Date.now() / 1000;
    const claimed = await collection.findOneAndUpdate(
      { status: "queued", pipeline: "bench", notBefore: { $lte: now } },
      { $set: { status: "running", start: now, leaseUntil: now + 60 }, $inc: { attempt: 1 } },
      // The service's claim order, which its claim indexes serve.
      { sort: { priority: -1, received: 1, _id: 1 } },
    );
    return claimed !== null;
  });
  return n / ((performance.now() - started) / 1000);
}

export async function withdrawScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 1_500 : 8_000;
  // Read before the first run drops the collection: both collections get the service's indexes.
  const indexes = await workIndexes(h);
  await service(h, indexes, 300); // warm-up
  await bare(h, indexes, 300);
  const ours = await medianOf(runs, () => service(h, indexes, n));
  const baseline = await medianOf(runs, () => bare(h, indexes, n));
  const batch = await medianOf(runs, () => service(h, indexes, n, 50));
  log(
    `withdraw: service ${round(ours)}/s, bare ${round(baseline)}/s, batch ${round(batch)}/s (busy, last batch: ${JSON.stringify(lastBusy)})`,
  );
  return {
    withdraw: {
      ours: round(ours),
      baseline: round(baseline),
      ratio: round(ours / baseline),
      unit: "claims/s",
    },
    batchWithdraw: {
      ours: round(batch),
      baseline: round(baseline),
      ratio: round(batch / baseline),
      unit: "claims/s",
    },
  };
}
