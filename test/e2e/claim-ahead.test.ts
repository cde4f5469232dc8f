import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/** A worker of short works claims their successors while they run; none of them is lost. */

let stack: Stack;
const dir = useTempDir("claim-ahead-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(join(dir, "noop.mjs"), "export const noop = () => ({ done: true });\n");
});
afterAll(async () => {
  await stack?.close();
});

/** The service's own count of a metric (a counter, or one label set of a histogram's count). */
async function metric(pattern: RegExp): Promise<number> {
  const headers = { authorization: `Bearer ${stack.token("prometheus", ["metrics"])}` };
  const text = await (await fetch(`${stack.url}/metrics`, { headers })).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}
const claimed = () => metric(/^buckets_claims_total (\d+)/m);
const withdraws = () =>
  metric(
    /^buckets_http_request_duration_seconds_count\{method="POST",route="\/work\/withdraw",status="200"\} (\d+)/m,
  );

async function deposit(pipeline: string, n: number): Promise<void> {
  await stack.client().depositMany(
    Array.from({ length: n }, () => ({
      pipeline,
      site: "local",
      user: "admin",
      function: "./noop.mjs#noop",
    })),
  );
}

const works = async (pipeline: string) =>
  (await stack.client().view({ pipeline }, { limit: 1_000 })) as StoredWork[];

const worker = (pipeline: string, lives = -1) =>
  startWorker({
    pipelines: [pipeline],
    client: stack.client(),
    cwd: dir,
    concurrency: 4,
    lives,
    wait: 1,
    sleep: 0.05,
    logger: createLogger("silent"),
  });

it("claims more works a request than it has slots, and gives back, at stop, those it did not start", {
  timeout: 60_000,
}, async () => {
  await deposit("ahead", 600);
  const [claims, requests] = [await claimed(), await withdraws()];
  const handle = worker("ahead");
  await eventually(async () => {
    const done = (await works("ahead")).filter((w) => w.status === "success").length;
    return done >= 300 ? done : undefined;
  }, 45_000);
  await handle.stop();
  // More than the 4 slots ask for: the rest were claimed while the slots' works ran.
  expect((await claimed()) - claims).toBeGreaterThan(4 * ((await withdraws()) - requests));

  const after = await works("ahead");
  expect(after).toHaveLength(600);
  // Nothing is left held by a worker that has gone, nothing failed, and a work given back spent
  // no retry: it runs again as if it had never been claimed.
  expect(after.filter((w) => w.status !== "success" && w.status !== "queued")).toEqual([]);
  for (const work of after.filter((w) => w.status === "queued")) {
    expect(work.history?.every((h) => h.status === "released") ?? true).toBe(true);
  }
  const rest = worker("ahead");
  await eventually(async () => {
    const left = (await works("ahead")).filter((w) => w.status !== "success");
    return left.length === 0 ? true : undefined;
  }, 45_000);
  await rest.stop();
});

it("never claims ahead past its lives: the works it will not run are never touched", {
  timeout: 60_000,
}, async () => {
  await deposit("lives", 100);
  const handle = worker("lives", 10);
  await handle.done;
  const after = await works("lives");
  expect(after.filter((w) => w.status === "success")).toHaveLength(10);
  const untouched = after.filter((w) => w.status === "queued");
  expect(untouched).toHaveLength(90);
  expect(untouched.filter((w) => (w.history ?? []).length > 0)).toEqual([]);
});
