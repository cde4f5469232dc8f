import { concurrently, type Harness, queuedDoc, workIndexes } from "../harness.js";
import { latencies, log, p50p99 as p, percentile, round } from "../stats.js";

const TAGS = 10;
/** CHIME's `workflow run --tag t3` sends this filter. */
const TAGGED = { pipeline: "deep", tags: { $in: ["t3"] } };

/** Empties the works (a drop: deleting a million works one by one takes a minute), indexes kept. */
export async function empty(h: Harness): Promise<void> {
  const indexes = await workIndexes(h);
  await h.works.drop();
  await h.works.createIndexes(indexes);
}

/**
 * Fills the queue to `depth` works, all claimable, each with one of ten tags. Then a checkpoint
 * (`fsync`): otherwise the claims measured next share mongod with writing out a million fresh
 * works, which is the cost of the fill, not of claiming from a deep queue.
 */
async function fill(h: Harness, depth: number): Promise<void> {
  await empty(h);
  for (let at = 0; at < depth; at += 10_000) {
    await h.works.insertMany(
      Array.from({ length: Math.min(10_000, depth - at) }, (_, i) => ({
        ...queuedDoc(at + i, "deep"),
        tags: [`t${(at + i) % TAGS}`],
      })),
      { ordered: false },
    );
  }
  await h.mongo.db("admin").command({ fsync: 1 });
}

/** One claim, unfiltered or tag-filtered, measured after a warm-up. */
async function claims(h: Harness, filter: object): Promise<number[]> {
  const claim = () => h.http("POST", "/work/withdraw", filter);
  await latencies(50, claim);
  return latencies(300, claim);
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

export async function depthScenario(h: Harness, quick: boolean) {
  const deep = quick ? 100_000 : 1_000_000;
  await fill(h, 1_000);
  const shallow = await claims(h, { pipeline: "deep" });
  await fill(h, 1_000);
  const shallowTagged = await claims(h, TAGGED);
  log(`depth: filling ${deep} works`);
  await fill(h, deep);
  const deepTimes = await claims(h, { pipeline: "deep" });
  const deepTagged = await claims(h, TAGGED);
  const countFigures = await counts(h, deep);
  await empty(h);
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
