/**
 * Scenarios: claims as the queue deepens, the status endpoints' cost, and deposit-to-start among
 * idle workers.
 */

import { type Collection, ObjectId } from "mongodb";
import { concurrently, type Harness, queuedDoc, type Service, workIndexes } from "../harness.js";
import { latencies, log, p50p99 as p, percentile, round } from "../stats.js";

const TAGS = 10;
/** The tag of the filtered claims: CHIME's `workflow run --tag t3`. */
const TAG = 3;
/** Claims measured on each queue between two refills. */
const BLOCK = 25;

/** Empties the works (a drop: deleting a million works one by one takes a minute), indexes kept. */
export async function empty(h: Harness): Promise<void> {
  const indexes = await workIndexes(h);
  await h.works.drop();
  await h.works.createIndexes(indexes);
}

const deepDoc = (i: number, tag = i % TAGS) => ({ ...queuedDoc(i, "deep"), tags: [`t${tag}`] });

/** A queue held at its depth: a service, the works it claims from, and the next work's number. */
interface Queue {
  service: Service;
  works: Collection;
  next: number;
}

/** Fills the queue to `depth` works, all claimable, each with one of ten tags. */
async function fill(q: Queue, depth: number): Promise<void> {
  for (; q.next < depth; q.next += 10_000) {
    const length = Math.min(10_000, depth - q.next);
    await q.works.insertMany(
      Array.from({ length }, (_, i) => deepDoc(q.next + i)),
      { ordered: false },
    );
  }
  q.next = depth;
}

/**
 * Claims `n` works on each queue, one on each in turn, so that both meet the same machine; with a
 * `tag`, the claims are filtered by it as CHIME's worker sends it, and the works put back carry it.
 */
async function interleaved(queues: Queue[], n: number, tag?: number): Promise<number[][]> {
  const filter =
    tag === undefined ? { pipeline: "deep" } : { pipeline: "deep", tags: { $in: [`t${tag}`] } };
  const times = queues.map(() => [] as number[]);
  const taken = queues.map(() => [] as ObjectId[]);
  for (let i = 0; i < n; i++) {
    for (const [k, q] of queues.entries()) {
      const started = performance.now();
      const work = await q.service.http<{ id: string } | null>("POST", "/work/withdraw", filter);
      times[k]?.push(performance.now() - started);
      if (!work) throw new Error("bench depth: a claim found the queue empty");
      taken[k]?.push(new ObjectId(work.id));
    }
    if ((i + 1) % BLOCK === 0) await refill(queues, taken, tag);
  }
  await refill(queues, taken, tag);
  return times;
}

/**
 * Puts back a queued work for each one claimed (with the claimed one's tag when the claims were
 * filtered by it), so that each queue stays at its depth and a filtered claim always finds one.
 */
async function refill(queues: Queue[], taken: ObjectId[][], tag?: number): Promise<void> {
  for (const [k, q] of queues.entries()) {
    const ids = taken[k]?.splice(0) ?? [];
    if (ids.length === 0) continue;
    await q.works.deleteMany({ _id: { $in: ids } });
    await q.works.insertMany(ids.map(() => deepDoc(q.next++, tag)));
  }
}

/**
 * /status, /status/details and /metrics with `depth` works stored, 200 calls each one after the
 * other. The first call after the fill counts afresh (`cold`); the calls after it share one count
 * while it is fresh (store/status.ts), each endpoint's p50 includes the calls that count again.
 */
async function counts(h: Harness, depth: number) {
  const endpoints = {
    status: () => h.http("GET", "/status"),
    details: () => h.http("GET", "/status/details/deep"),
    metrics: () => h.text("/metrics"),
  };
  const [cold = 0] = await latencies(1, endpoints.status);
  const figures: Record<string, { p50: number; p99: number }> = {};
  for (const [name, call] of Object.entries(endpoints))
    figures[name] = p(await latencies(200, call));
  log(`counts at ${depth}: cold ${round(cold)} ms, ${JSON.stringify(figures)}`);
  return { cold: round(cold), ...figures };
}

/**
 * Claims with 1,000 and with `deep` works queued, measured interleaved on two services, each on its
 * own database of the same mongod: measured one after the other, minutes apart, the ratio of two
 * p50s of a few milliseconds moved by a third with the machine's load between them. After the fill
 * a checkpoint (`fsync`): otherwise the claims share mongod with writing out a million fresh works,
 * which is the cost of the fill, not of claiming from a deep queue.
 */
export async function depthScenario(h: Harness, quick: boolean) {
  const deep = quick ? 100_000 : 1_000_000;
  const second = await h.startService("bench-shallow");
  try {
    const shallowQueue: Queue = {
      service: second,
      works: h.mongo.db("bench-shallow").collection("works"),
      next: 0,
    };
    const deepQueue: Queue = { service: h, works: h.works, next: 0 };
    await shallowQueue.works.deleteMany({});
    await empty(h);
    log(`depth: filling ${deep} works`);
    await fill(shallowQueue, 1_000);
    await fill(deepQueue, deep);
    await h.mongo.db("admin").command({ fsync: 1 });
    const queues = [shallowQueue, deepQueue];
    await interleaved(queues, 50);
    const [shallow = [], deepTimes = []] = await interleaved(queues, 300);
    await interleaved(queues, 50, TAG);
    const [shallowTagged = [], deepTagged = []] = await interleaved(queues, 300, TAG);
    const countFigures = await counts(h, deep);
    await empty(h);
    await shallowQueue.works.drop();
    log(
      `depth: 1000 queued p50 ${p(shallow).p50} ms (tagged ${p(shallowTagged).p50}), ${deep} queued p50 ${p(deepTimes).p50} ms (tagged ${p(deepTagged).p50})`,
    );
    const ratio = (a: number[], b: number[]) => round(percentile(a, 50) / percentile(b, 50));
    return {
      depth: {
        ours: { depth: deep, ...p(deepTimes) },
        baseline: { depth: 1_000, ...p(shallow) },
        ratio: ratio(deepTimes, shallow),
        unit: "ms",
      },
      depthTagged: {
        ours: { depth: deep, ...p(deepTagged) },
        baseline: { depth: 1_000, ...p(shallowTagged) },
        ratio: ratio(deepTagged, shallowTagged),
        unit: "ms (claims filtered by tags: {$in: [one of ten]})",
      },
      counts: { works: deep, ...countFigures, unit: "ms" },
    };
  } finally {
    await second.stop();
  }
}

/**
 * Deposit-to-start among 1,000 idle workers long-polling, and what holding them costs the service:
 * its resident memory and CPU while they wait, against the same with none waiting.
 */
export async function dispatchScenario(h: Harness, quick: boolean) {
  const WAITERS = 1_000;
  const IDLE_MS = quick ? 5_000 : 20_000;
  const samples = quick ? 40 : 150;
  const pollers = h.client();
  const idle = async () => {
    const before = await h.serviceUsage();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const after = await h.serviceUsage();
    return {
      rssMiB: round(after.rss / 2 ** 20),
      cpu: round((after.cpuSeconds - before.cpuSeconds) / (IDLE_MS / 1000), 3),
    };
  };
  const alone = await idle();

  const latencies: number[] = [];
  let sentAt = 0;
  let remaining = samples;
  let waiting = 0;
  let wake: () => void = () => {};
  const polling = concurrently(WAITERS, async () => {
    if (remaining <= 0) return false;
    waiting++;
    wake();
    const got = await pollers.http<unknown>("POST", "/work/withdraw?wait=30", {
      pipeline: "dispatch",
    });
    waiting--;
    // The works deposited at the end to send the pollers home are no samples.
    if (got !== null && remaining > 0) {
      latencies.push(performance.now() - sentAt);
      remaining--;
      wake();
    }
    return remaining > 0;
  });
  const allWaiting = async () => {
    while (waiting < WAITERS || (await h.serviceUsage()).waiters < WAITERS)
      await new Promise((resolve) => setTimeout(resolve, 100));
  };
  await allWaiting();
  const held = await idle();
  for (let i = 0; i < samples; i++) {
    // Deposit only once every poller waits, so that each sample is a true long-poll wake-up.
    while (waiting < WAITERS || latencies.length < i)
      await new Promise<void>((resolve) => (wake = resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    sentAt = performance.now();
    await h.http("POST", "/work", [
      { pipeline: "dispatch", site: "local", user: "bench", command: ["true"], creation: i },
    ]);
  }
  // The pollers still waiting go home with a work each.
  await h.http(
    "POST",
    "/work",
    Array.from({ length: WAITERS }, (_, i) => ({
      pipeline: "dispatch",
      site: "local",
      user: "bench",
      command: ["true"],
      creation: i,
    })),
  );
  await polling;
  pollers.close();
  await h.works.deleteMany({ pipeline: "dispatch" });
  log(
    `dispatch among ${WAITERS}: p50 ${round(percentile(latencies, 50))} ms; idle service ${JSON.stringify(alone)}, with ${WAITERS} waiting ${JSON.stringify(held)}`,
  );
  return {
    dispatch: {
      ours: { waiters: WAITERS, ...p(latencies) },
      unit: "ms",
    },
    waiters: {
      ours: { waiters: WAITERS, ...held },
      baseline: { waiters: 0, ...alone },
      unit: "service RSS MiB and CPU (cores) while idle",
    },
  };
}
