/**
 * Scenario: an innocent worker's withdraw latency while one token abuses the service within its
 * bounds.
 */

import { type Harness, tokenOf } from "../harness.js";
import { latencies, log, p50p99, round } from "../stats.js";

/**
 * Latency under abuse: the p50 of an innocent worker's withdraw (a work deposited, then claimed)
 * while one token abuses the service within its bounds, against the same p50 with no abuse, on the
 * same service. Target: ratio <= 2 for each abuse (issue #26, bounded cost per request).
 */
export async function abuseScenario(h: Harness, quick: boolean) {
  const samples = quick ? 40 : 200;
  const abuser = tokenOf("abuser");
  const innocent = async () => {
    await h.http("POST", "/work", [work("innocent", 0)]);
    const started = performance.now();
    await h.http("POST", "/work/withdraw", { pipeline: "innocent" });
    return performance.now() - started;
  };
  const measure = async () => {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await innocent());
    return times;
  };
  await latencies(20, innocent); // warm-up

  /**
   * Runs `abuse` loops at once, each at most once every `periodMs` (a bounded load: an unpaced
   * loop on these 2 shared cores would slow anyone, whatever it asked), until the innocent samples
   * are taken, then stops them. The baseline is measured just before: the load others put on
   * these cores drifts over minutes.
   */
  const under = async (loops: number, periodMs: number, abuse: () => Promise<unknown>) => {
    const baseline = p50p99(await measure());
    let stop = false;
    const running = Promise.all(
      Array.from({ length: loops }, async () => {
        while (!stop) {
          const started = performance.now();
          await abuse().catch(() => undefined);
          const rest = periodMs - (performance.now() - started);
          if (rest > 0 && !stop) await new Promise((resolve) => setTimeout(resolve, rest));
        }
      }),
    );
    // The service's peak memory under the abuse: a bounded cost is bounded in memory too.
    let peak = 0;
    const sampling = setInterval(() => {
      h.serviceUsage().then(
        ({ rss }) => (peak = Math.max(peak, rss)),
        () => undefined,
      );
    }, 500);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the abuse under way
    const ours = p50p99(await measure());
    stop = true;
    clearInterval(sampling);
    return { ours, baseline, running, peakRss: peak };
  };
  type P = { p50: number; p99: number };
  type Figure = {
    ours: P;
    baseline: P;
    ratio: number;
    what: string;
    unit: "ms";
    serviceRssMiB: number;
  };
  const results: Record<string, Figure> = {};
  /** Records one abuse's figure, and logs it at once: a service that falls over shows where. */
  const record = (
    name: string,
    { ours, baseline, peakRss }: { ours: P; baseline: P; peakRss: number },
    what: string,
  ) => {
    const r: Figure = {
      ours,
      baseline,
      ratio: round(ours.p50 / baseline.p50),
      what,
      unit: "ms",
      serviceRssMiB: round(peakRss / 2 ** 20),
    };
    results[name] = r;
    log(
      `${name}: innocent withdraw p50 ${r.ours.p50} vs ${r.baseline.p50} ms (${r.ratio}), service RSS at most ${r.serviceRssMiB} MiB - ${r.what}`,
    );
  };

  // 1. Counting with thousands of pipelines: /status, /activity/counts and /metrics in a loop.
  const pipelines = quick ? 1_000 : 3_000;
  await h.http(
    "POST",
    "/work",
    Array.from({ length: pipelines }, (_, i) => work(`abuse-${i}`, i)),
  );
  const paths = ["/status", "/activity/counts", "/metrics"];
  let n = 0;
  const counts = await under(2, 100, () => h.raw("GET", paths[n++ % 3] as string, abuser));
  await counts.running;
  record(
    "abuseCounts",
    counts,
    `/status, /activity/counts, /metrics, 2 loops of 10 a second, ${pipelines} pipelines`,
  );

  // 2. Long-polls with distinct filters (past the service's bound, each refused and retried).
  const polls = quick ? 500 : 2_000;
  let filter = 0;
  const longPolls = await under(polls, 5_000, () =>
    h.raw(
      "POST",
      "/work/withdraw?wait=5",
      abuser,
      JSON.stringify({ pipeline: `lp-${filter++ % polls}` }),
    ),
  );
  await longPolls.running;
  record(
    "abuseLongPolls",
    longPolls,
    `${polls} long-polls with distinct filters, one token, each again 5 s after its answer`,
  );

  // 3. Log followers of one running work, and 4. reads of its big log.
  const [id] = await h.http<string[]>("POST", "/work?return_ids=true", [work("logged", 0)]);
  await h.http("POST", "/work/withdraw?lease=3600", { pipeline: "logged" });
  const lines = Array.from({ length: 10_000 }, () => ({ t: 1, stream: "stdout", text: "" }));
  for (let i = 0; i < 10; i++) await h.http("POST", `/work/${id}/logs?attempt=1`, { lines });
  const followers = quick ? 300 : 1_000;
  const following = await under(followers, 5_000, () =>
    h.raw("GET", `/work/${id}/logs?follow=true`, abuser),
  );
  record(
    "abuseFollowers",
    following,
    `${followers} log followers of one attempt, one token, each again 5 s after a refusal`,
  );
  // Followers go when the attempt ends.
  await h.http("PUT", "/work", [{ id, attempt: 1, status: "success" }]);
  await following.running;
  const reads = await under(2, 1_000, () => h.raw("GET", `/work/${id}/logs?format=json`, abuser));
  await reads.running;
  record(
    "abuseLogReads",
    reads,
    "JSON reads of an attempt of 100,000 empty lines, 2 loops of 1 a second",
  );

  // 5. Deposits of 800,000 parameter keys (13 MB), refused.
  const keys = quick ? 400_000 : 800_000;
  const parameters = Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i]));
  const huge = JSON.stringify([{ ...work("huge", 0), parameters }]);
  const deposits = await under(1, 2_000, () => h.raw("POST", "/work", abuser, huge));
  await deposits.running;
  record(
    "abuseKeys",
    deposits,
    `a deposit every 2 s of ${keys} parameter keys (${round(huge.length / 2 ** 20)} MB)`,
  );

  await h.works.deleteMany({});
  await h.db.collection("logs").deleteMany({});
  return results;
}

const work = (pipeline: string, creation: number) => ({
  pipeline,
  site: "local",
  user: "bench",
  command: ["true"],
  creation,
});
