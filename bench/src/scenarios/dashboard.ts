import { WORKS_PAGE_PROJECTION } from "@workflow/work/views";
import { type Harness, queuedDoc } from "../harness.js";
import { latencies, log, p50p99 } from "../stats.js";
import { empty } from "./latency.js";

const PIPELINES = 5;
const WORKERS = 50;
/** Works running now, each held by one of the workers. */
const RUNNING = 200;
const SAMPLES = 100;
const HOUR = 3600;
const DAY = 24 * HOUR;
/**
 * A day of a busy service: `total` works over five pipelines, most ended (success, one in ten a
 * failure) with their stops spread over the last 24 hours, so the last hour holds about 1/24th of
 * them, the rest queued, and RUNNING running on WORKERS workers.
 */
async function fill(h: Harness, total: number): Promise<void> {
  await empty(h);
  const now = Math.floor(Date.now() / 1000);
  for (let at = 0; at < total; at += 10_000) {
    await h.works.insertMany(
      Array.from({ length: Math.min(10_000, total - at) }, (_, k) => {
        const i = at + k;
        const doc = {
          ...queuedDoc(i, `dash-${i % PIPELINES}`),
          parameters: { band: i % 2 ? "L" : "S", n: i },
        };
        const worker = `node-${i % WORKERS}/worker`;
        if (i < RUNNING) {
          const start = now - 30;
          return {
            ...doc,
            status: "running",
            attempt: 1,
            start,
            history: [{ attempt: 1, worker, start, status: "running" }],
          };
        }
        if (i % 10 === 9) return doc;
        const stop = now - Math.floor((i * 7919) % DAY);
        const status = i % 10 === 0 ? "failure" : "success";
        return {
          ...doc,
          status,
          attempt: 1,
          start: stop - 5,
          stop,
          history: [{ attempt: 1, worker, start: stop - 5, stop, status }],
        };
      }),
      { ordered: false },
    );
  }
}

/** Milliseconds per call, one call at a time, after a warm-up of 10. */
async function warmLatencies(call: () => Promise<unknown>): Promise<number[]> {
  await latencies(10, call);
  return latencies(SAMPLES, call);
}

/**
 * The dashboard's calls with `total` works stored: the overview's three (one poll is the three at
 * once, as the page sends them), and the works page's POST /view: the first page, a page further
 * on (`after`), filtered by pipeline and status, and by a parameter.
 */
export async function dashboardScenario(h: Harness, quick: boolean) {
  const total = quick ? 100_000 : 1_000_000;
  log(`dashboard: filling ${total} works`);
  await fill(h, total);
  const middle = (await h.works
    .find({}, { projection: { _id: 1 } })
    .sort({ _id: 1 })
    .skip(Math.floor(total / 2))
    .limit(1)
    .next()) as { _id: { toHexString(): string } } | null;
  const page = (query: object, after?: string) => () =>
    h.http("POST", "/view", {
      query,
      projection: WORKS_PAGE_PROJECTION,
      limit: 50,
      ...(after ? { after } : {}),
    });
  const calls = {
    counts: () => h.http("GET", "/activity/counts"),
    minutes: () => h.http("GET", "/activity/minutes"),
    workers: () => h.http("GET", "/activity/workers"),
    overview: () =>
      Promise.all([
        h.http("GET", "/activity/counts"),
        h.http("GET", "/activity/minutes"),
        h.http("GET", "/activity/workers"),
      ]),
    worksFirst: page({}),
    worksAfter: page({}, middle?._id.toHexString()),
    // Every tenth work failed, all of them in dash-0 (i % 10 === 0): 100,000 of the 1,000,000.
    worksFiltered: page({ pipeline: "dash-0", status: "failure" }),
    worksParameter: page({ "parameters.band": "L" }, middle?._id.toHexString()),
  };
  const figures: Record<string, { p50: number; p99: number }> = {};
  for (const [name, call] of Object.entries(calls))
    figures[name] = p50p99(await warmLatencies(call));
  await empty(h);
  log(`dashboard at ${total}: ${JSON.stringify(figures)}`);
  return { dashboard: { works: total, ...figures, unit: "ms" } };
}
