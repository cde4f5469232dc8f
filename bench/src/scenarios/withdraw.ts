/** Scenario: claims per second through the service against a bare findOneAndUpdate loop. */

import type { IndexDescription } from "mongodb";
import { metered } from "../busy.js";
import { concurrently, type Harness, queuedDoc, workIndexes } from "../harness.js";
import { log, medianRunOf, type Run, round } from "../stats.js";

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

/** Claims `n` works with `claim` at concurrency 16, timed from the first claim to the last. */
function timed(h: Harness, n: number, claim: () => Promise<boolean>): Promise<Run> {
  return metered(h, async () => {
    const started = performance.now();
    await concurrently(CONCURRENCY, claim);
    return n / ((performance.now() - started) / 1000);
  });
}

/** Claims through the service (one per request, or `count` per request). */
async function service(
  h: Harness,
  indexes: IndexDescription[],
  n: number,
  count?: number,
): Promise<Run> {
  await seed(h, "works", n, indexes);
  const path = count ? `/work/withdraw?count=${count}` : "/work/withdraw";
  return timed(h, n, async () => {
    const got = await h.http<unknown>("POST", path, { pipeline: "bench" });
    return Array.isArray(got) ? got.length > 0 : got !== null;
  });
}

/** The bare driver: the same claim as a plain findOneAndUpdate loop, same indexes and documents. */
async function bare(h: Harness, indexes: IndexDescription[], n: number): Promise<Run> {
  const collection = h.db.collection("bare");
  await seed(h, "bare", n, indexes);
  return timed(h, n, async () => {
    const now = Date.now() / 1000;
    const claimed = await collection.findOneAndUpdate(
      { status: "queued", pipeline: "bench", notBefore: { $lte: now } },
      { $set: { status: "running", start: now, leaseUntil: now + 60 }, $inc: { attempt: 1 } },
      // The service's claim order, which its claim indexes serve.
      { sort: { priority: -1, received: 1, _id: 1 } },
    );
    return claimed !== null;
  });
}

export async function withdrawScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 1_500 : 8_000;
  // Read before the first run drops the collection: both collections get the service's indexes.
  const indexes = await workIndexes(h);
  await service(h, indexes, 300); // warm-up
  await bare(h, indexes, 300);
  const ours = await medianRunOf(runs, () => service(h, indexes, n));
  const baseline = await medianRunOf(runs, () => bare(h, indexes, n));
  const batch = await medianRunOf(runs, () => service(h, indexes, n, 50));
  const busy = (run: Run) => JSON.stringify(run.busy);
  log(
    `withdraw: service ${round(ours.rate)}/s (busy ${busy(ours)}), bare ${round(baseline.rate)}/s (busy ${busy(baseline)}), batch ${round(batch.rate)}/s (busy ${busy(batch)})`,
  );
  const figure = (run: Run) => ({
    ours: round(run.rate),
    baseline: round(baseline.rate),
    ratio: round(run.rate / baseline.rate),
    unit: "claims/s",
    busy: { ours: run.busy, baseline: baseline.busy },
  });
  return { withdraw: figure(ours), batchWithdraw: figure(batch) };
}
