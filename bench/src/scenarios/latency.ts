import { concurrently, type Harness, queuedDoc } from "../harness.js";
import { log, percentile, round } from "../stats.js";

/** Fills the queue to `depth` works (of another pipeline-site mix, all claimable). */
async function fill(h: Harness, depth: number): Promise<void> {
  await h.works.deleteMany({});
  for (let at = 0; at < depth; at += 10_000) {
    await h.works.insertMany(
      Array.from({ length: Math.min(10_000, depth - at) }, (_, i) => queuedDoc(at + i, "deep")),
      { ordered: false },
    );
  }
}

async function claimLatencies(h: Harness, samples: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await h.http("POST", "/work/withdraw", { pipeline: "deep" });
    times.push(performance.now() - started);
  }
  return times;
}

export async function depthScenario(h: Harness, quick: boolean) {
  const deep = quick ? 100_000 : 1_000_000;
  await fill(h, 1_000);
  await claimLatencies(h, 50);
  const shallow = await claimLatencies(h, 300);
  log(`depth: filling ${deep} works`);
  await fill(h, deep);
  await claimLatencies(h, 50);
  const deepTimes = await claimLatencies(h, 300);
  await h.works.deleteMany({});
  const p = (values: number[]) => ({
    p50: round(percentile(values, 50)),
    p99: round(percentile(values, 99)),
  });
  log(`depth: 1000 queued p50 ${p(shallow).p50} ms, ${deep} queued p50 ${p(deepTimes).p50} ms`);
  return {
    depth: {
      ours: { depth: deep, ...p(deepTimes) },
      baseline: { depth: 1_000, ...p(shallow) },
      ratio: round(percentile(deepTimes, 50) / percentile(shallow, 50)),
      unit: "ms",
    },
  };
}

/** Deposit-to-start: idle workers long-poll; each deposit's work reaches one of them. */
export async function dispatchScenario(h: Harness, quick: boolean) {
  const samples = quick ? 40 : 150;
  const latencies: number[] = [];
  let sentAt = 0;
  let remaining = samples;
  let waiting = 0;
  let wake: () => void = () => {};
  const pollers = concurrently(8, async () => {
    if (remaining <= 0) return false;
    waiting++;
    wake();
    const got = await h.http<unknown>("POST", "/work/withdraw?wait=5", { pipeline: "dispatch" });
    waiting--;
    if (got !== null) {
      latencies.push(performance.now() - sentAt);
      remaining--;
      wake();
    }
    return remaining > 0;
  });
  for (let i = 0; i < samples; i++) {
    // Deposit only once every poller waits, so that each sample is a true long-poll wake-up.
    while (waiting < 8 || latencies.length < i)
      await new Promise<void>((resolve) => (wake = resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    sentAt = performance.now();
    await h.http("POST", "/work", [{ ...queuedDocInput(i) }]);
  }
  await pollers;
  log(`dispatch: p50 ${round(percentile(latencies, 50))} ms`);
  return {
    dispatch: {
      ours: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)) },
      unit: "ms",
    },
  };
}

const queuedDocInput = (i: number) => {
  const {
    pipeline: _p,
    status: _s,
    notBefore: _n,
    digest: _d,
    attempt: _a,
    ...rest
  } = queuedDoc(i);
  return { ...rest, pipeline: "dispatch" };
};
