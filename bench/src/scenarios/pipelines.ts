import { MAX_RUN_WORKS } from "@workflow/work";
import { ObjectId } from "mongodb";
import type { Harness } from "../harness.js";
import { type Claimed, fourClaimers, manyThenFanIn, runConfig } from "../runs.js";
import { log, median, percentile, round } from "../stats.js";
import { fanOutScenario } from "./fanout.js";

const BATCH = 1_000;

/** Claims and reports every work of a pipeline, 100 a request, 4 claimers at once. */
async function drain(h: Harness, pipeline: string): Promise<number> {
  let done = 0;
  await fourClaimers(h, pipeline, (claimed) => {
    done += claimed.length;
    return claimed.length > 0;
  });
  return done;
}

/** Seconds to create `n` works as one run (a matrix step), then claim and report them all. */
async function asRun(h: Harness, n: number, pipeline: string) {
  const started = performance.now();
  await h.http("POST", "/runs", { config: manyThenFanIn(pipeline, n) });
  const created = performance.now();
  await drain(h, pipeline);
  return { create: (created - started) / 1000, total: (performance.now() - started) / 1000 };
}

/** The same `n` works as plain deposits of 1,000, then claimed and reported the same way. */
async function asDeposits(h: Harness, n: number, pipeline: string) {
  const started = performance.now();
  for (let at = 0; at < n; at += BATCH) {
    await h.http(
      "POST",
      "/work",
      Array.from({ length: Math.min(BATCH, n - at) }, (_, i) => ({
        id: new ObjectId().toHexString(),
        pipeline,
        site: "local",
        user: "bench",
        command: ["true"],
        parameters: { i: at + i },
      })),
    );
  }
  const created = performance.now();
  await drain(h, pipeline);
  return { create: (created - started) / 1000, total: (performance.now() - started) / 1000 };
}

/**
 * Pipelines: a run of the most works one run may hold, its fan-in included (`--quick`: 2,000 and
 * the fan-in), against the same works deposited plainly, as overhead per work (create, and
 * create + claim + report); and the release latency, parent outcome sent to child claimed by a
 * worker already long-polling, p50 and p99; and a fan-out made from a parent's results against
 * the same shape stored whole (./fanout.ts).
 */
export async function pipelinesScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 2_000 : MAX_RUN_WORKS - 1;
  const ours: { create: number; total: number }[] = [];
  const bare: { create: number; total: number }[] = [];
  for (let run = 0; run < runs; run++) {
    ours.push(await asRun(h, n, `bench-run-${run}`));
    bare.push(await asDeposits(h, n, `bench-plain-${run}`));
  }
  const perWork = (k: "create" | "total") =>
    round(((median(ours.map((o) => o[k])) - median(bare.map((b) => b[k]))) / n) * 1e6, 1);
  const latencies: number[] = [];
  const chains = quick ? 30 : 100;
  const poller = h.client();
  try {
    for (let i = 0; i < chains; i++) {
      const pipeline = `bench-release-${i}`;
      await h.http("POST", "/runs", {
        config: runConfig(pipeline, [
          { name: "parent", work: { command: ["true"] } },
          { name: "child", needs: ["parent"], work: { command: ["true"] } },
        ]),
      });
      const [parent] = await h.http<Claimed[]>("POST", "/work/withdraw?count=1", { pipeline });
      // The worker waits first, as an idle worker does; the clock starts when the outcome is sent.
      const child = poller.http<Claimed | null>("POST", "/work/withdraw?wait=10", { pipeline });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const sent = performance.now();
      await h.http("PUT", "/work", [
        { id: parent?.id, attempt: parent?.attempt, status: "success" },
      ]);
      if (!(await child)) throw new Error("the child was not released");
      latencies.push(performance.now() - sent);
    }
  } finally {
    poller.close();
  }
  const figures = {
    pipelineOverhead: {
      works: n,
      createRunSeconds: round(median(ours.map((o) => o.create))),
      createDepositSeconds: round(median(bare.map((b) => b.create))),
      createOverheadMicrosPerWork: perWork("create"),
      totalRunSeconds: round(median(ours.map((o) => o.total))),
      totalDepositSeconds: round(median(bare.map((b) => b.total))),
      totalOverheadMicrosPerWork: perWork("total"),
      ratio: round(median(bare.map((b) => b.total)) / median(ours.map((o) => o.total))),
    },
    releaseLatency: {
      p50: round(percentile(latencies, 50), 1),
      p99: round(percentile(latencies, 99), 1),
      unit: "ms",
      chains,
    },
    fanOut: await fanOutScenario(h, quick, runs),
  };
  log(`pipelines: ${JSON.stringify(figures)}`);
  return figures;
}
