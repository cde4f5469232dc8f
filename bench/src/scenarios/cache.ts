import { MAX_RUN_WORKS } from "@workflow/work";
import type { Harness } from "../harness.js";
import { fourClaimers, manyThenFanIn } from "../runs.js";
import { log, median, round } from "../stats.js";

const POLL_MS = 20;

/** Claims and reports the pipeline's works, 100 a request, 4 claimers, until the run ends. */
async function workUntilDone(h: Harness, pipeline: string, run: string): Promise<void> {
  let done = false;
  const workers = fourClaimers(h, pipeline, async (claimed) => {
    if (claimed.length === 0) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    return !done;
  });
  await ended(h, run);
  done = true;
  await workers;
}

async function ended(h: Harness, run: string): Promise<string> {
  for (;;) {
    const { status } = await h.http<{ status: string }>("GET", `/runs/${run}`);
    if (status !== "running") return status;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Seconds from POST /runs to the run's end: executed by no-op workers, or answered from the cache. */
async function timed(h: Harness, pipeline: string, n: number, execute: boolean) {
  const started = performance.now();
  const { id } = await h.http<{ id: string }>("POST", "/runs", {
    config: manyThenFanIn(pipeline, n, { cache: true }),
  });
  if (execute) await workUntilDone(h, pipeline, id);
  const status = await ended(h, id);
  if (status !== "success") throw new Error(`run ${id} ended ${status}`);
  return (performance.now() - started) / 1000;
}

/**
 * Cache (#29): a run of the most works one run may hold (`--quick`: 2,000) and its fan-in, all
 * `cache: true`, time to done when every work is answered from the cache, against the same run
 * executed by workers whose works do nothing (the first run of each pair, which fills the cache).
 */
export async function cacheScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 2_000 : MAX_RUN_WORKS - 1;
  const executed: number[] = [];
  const cached: number[] = [];
  for (let run = 0; run < runs; run++) {
    const pipeline = `bench-cache-${run}`;
    executed.push(await timed(h, pipeline, n, true));
    cached.push(await timed(h, pipeline, n, false));
  }
  const figures = {
    cachedRun: {
      works: n + 1,
      unit: "s",
      ours: round(median(cached)),
      baseline: round(median(executed)),
      ratio: round(median(executed) / median(cached)),
    },
  };
  log(`cache: ${JSON.stringify(figures)}`);
  return figures;
}
