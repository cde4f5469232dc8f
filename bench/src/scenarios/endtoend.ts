/**
 * Scenario: no-op works end to end through real worker processes, against the same load on Agenda.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoBackend } from "@agendajs/mongo-backend";
import { Agenda } from "agenda";
import { busyMeter } from "../busy.js";
import {
  concurrently,
  type Harness,
  NODE_ARGS,
  queuedDoc,
  ROOT,
  type Service,
  workIndexes,
} from "../harness.js";
import { log, median, round } from "../stats.js";

const PROCESSES = 4;
const CONCURRENCY = 8;

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((child) => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      return exited;
    }),
  );
}

/**
 * Works/s for `n` no-op function works through 4 worker processes at concurrency 8, timed from the
 * first deposit, the workers already long-polling (as the bare pipeline's loops are polling).
 */
async function ours(h: Harness, n: number, cwd: string): Promise<number> {
  return (await endToEndOn(h, [h], n, cwd)).rate;
}

/**
 * The same through `instances` of the service (the workers spread over them, deposits sent to each
 * in turn), and how busy each kind of process was meanwhile (CPU seconds per second).
 */
export async function endToEndOn(
  h: Harness,
  instances: Service[],
  n: number,
  cwd: string,
): Promise<{ rate: number; busy: Record<string, number> }> {
  await h.works.deleteMany({});
  const workers = Array.from({ length: PROCESSES }, (_, i) =>
    spawn(
      process.execPath,
      [
        ...NODE_ARGS,
        join(ROOT, "packages/worker/dist/cli.js"),
        "run",
        "e2e",
        "--url",
        (instances[i % instances.length] as Service).url,
        "--token",
        h.token,
        "--concurrency",
        String(CONCURRENCY),
        "--sleep",
        "0.05",
        "--name",
        `bench${i}`,
      ],
      {
        cwd,
        env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "warn", HOME: cwd },
        stdio: ["ignore", "ignore", "inherit"],
      },
    ),
  );
  await until(async () => {
    const usage = await Promise.all(instances.map((s) => s.serviceUsage()));
    return usage.reduce((sum, u) => sum + u.waiters, 0) >= PROCESSES;
  });
  const busy = busyMeter({
    service: instances.map((s) => s.process.pid),
    mongod: [h.mongodPid],
    workers: workers.map((w) => w.pid),
  });
  const started = performance.now();
  for (let at = 0, k = 0; at < n; at += 1_000, k++) {
    const batch = Array.from({ length: Math.min(1_000, n - at) }, (_, i) => ({
      pipeline: "e2e",
      site: "local",
      user: "bench",
      function: "./noop.mjs#noop",
      creation: at + i,
    }));
    await (instances[k % instances.length] as Service).http("POST", "/work", batch);
  }
  await until(
    async () => (await h.works.countDocuments({ pipeline: "e2e", status: "success" })) >= n,
  );
  const seconds = (performance.now() - started) / 1000;
  const measured = busy();
  await stopAll(workers);
  return { rate: n / seconds, busy: measured };
}

/**
 * What the system must do per work at the least, with the bare driver and no HTTP: the works
 * inserted in batches of 1,000 (journaled, as a deposit is), and 32 loops (4 processes at
 * concurrency 8) each claiming by `findOneAndUpdate` in claim order and completing by a journaled
 * `updateOne` (as an outcome is). Timed from the first insert, the loops already polling.
 */
async function bare(h: Harness, n: number): Promise<number> {
  const collection = h.db.collection("bare-e2e");
  await collection.drop().catch(() => {});
  await collection.createIndexes(await workIndexes(h));
  let done = 0;
  let inserting = true;
  const started = performance.now();
  const loops = concurrently(PROCESSES * CONCURRENCY, async () => {
    const now = Date.now() / 1000;
    const work = await collection.findOneAndUpdate(
      { status: "queued", pipeline: "e2e", notBefore: { $lte: now } },
      { $set: { status: "running", start: now, leaseUntil: now + 60 }, $inc: { attempt: 1 } },
      { sort: { priority: -1, received: 1, _id: 1 }, returnDocument: "after" },
    );
    if (!work) {
      if (!inserting && done >= n) return false;
      // The worker's --sleep 0.05 after an empty poll.
      await new Promise((resolve) => setTimeout(resolve, 50));
      return true;
    }
    await collection.updateOne(
      { _id: work._id, status: "running", attempt: work.attempt },
      { $set: { status: "success", stop: Date.now() / 1000 }, $unset: { leaseUntil: "" } },
      { writeConcern: { journal: true } },
    );
    done++;
    return done < n;
  });
  for (let at = 0; at < n; at += 1_000) {
    await collection.insertMany(
      Array.from({ length: Math.min(1_000, n - at) }, (_, i) => queuedDoc(at + i, "e2e")),
      { writeConcern: { journal: true } },
    );
  }
  inserting = false;
  await loops;
  return n / ((performance.now() - started) / 1000);
}

/** The same with Agenda: 4 processes at concurrency 8, a no-op job, on the same MongoDB. */
async function agenda(h: Harness, n: number): Promise<number> {
  const jobs = h.db.collection("agendaJobs");
  await jobs.deleteMany({});
  const scheduler = new Agenda({
    backend: new MongoBackend({ address: h.mongod.getUri("bench"), collection: "agendaJobs" }),
  });
  scheduler.define("noop", async () => {});
  await scheduler.ready;
  for (let at = 0; at < n; at += 200)
    await Promise.all(Array.from({ length: Math.min(200, n - at) }, () => scheduler.now("noop")));
  await scheduler.stop(true);
  const started = performance.now();
  const children = Array.from({ length: PROCESSES }, () =>
    spawn(
      process.execPath,
      [
        join(import.meta.dirname, "..", "agenda-child.js"),
        h.mongod.getUri("bench"),
        String(CONCURRENCY),
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    ),
  );
  await until(async () => (await jobs.countDocuments({ lastFinishedAt: { $type: "date" } })) >= n);
  const seconds = (performance.now() - started) / 1000;
  await stopAll(children);
  return n / seconds;
}

export async function endToEndScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 400 : 5_000;
  const cwd = mkdtempSync(join(tmpdir(), "bench-e2e-"));
  writeFileSync(join(cwd, "noop.mjs"), "export const noop = () => ({});\n");
  try {
    await ours(h, 100, cwd); // warm-up
    // Alternated, so that a slow spell of the machine weighs on every side.
    const os: number[] = [];
    const bs: number[] = [];
    const as: number[] = [];
    let rss = 0;
    let busy: Record<string, number> = {};
    for (let run = 0; run < runs; run++) {
      const measured = await endToEndOn(h, [h], n, cwd);
      os.push(measured.rate);
      busy = measured.busy;
      rss = (await h.serviceUsage()).rss;
      bs.push(await bare(h, n));
      as.push(await agenda(h, n));
    }
    const [o, b, a] = [median(os), median(bs), median(as)];
    log(
      `end to end: ours ${round(o)}/s, bare driver ${round(b)}/s, Agenda ${round(a)}/s; service RSS ${round(rss / 2 ** 20)} MiB`,
    );
    return {
      endToEnd: {
        ours: round(o),
        baseline: round(a),
        ratio: round(o / a),
        unit: "works/s (baseline: Agenda)",
        works: n,
        busy,
      },
      endToEndBare: {
        ours: round(o),
        baseline: round(b),
        ratio: round(o / b),
        unit: "works/s (baseline: bare driver pipeline)",
        works: n,
      },
      memory: { ours: round(rss / 2 ** 20), unit: "MiB (service RSS after end to end)" },
    };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
