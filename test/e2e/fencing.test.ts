import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BucketsClient } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, expect, it } from "vitest";
import { alive } from "../support/processes.js";
import { type CuttingProxy, startCuttingProxy } from "../support/proxy.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * Self-fencing: a worker that cannot renew its lease before it lapses stops the work, and does not
 * report an outcome for it: the service may already have given the work to another worker.
 */

let stack: Stack;
let lapsing: Stack;
const dir = useTempDir("fencing-");
let proxy: CuttingProxy;
let lapsingProxy: CuttingProxy;

beforeAll(async () => {
  // The reaper is slow, so that an outcome reported late would still be recorded.
  stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  // Here the reaper ends a lapsed lease within a second.
  lapsing = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "1" }, "lapsing");
  proxy = await startCuttingProxy(stack.url);
  lapsingProxy = await startCuttingProxy(lapsing.url);
});

afterAll(async () => {
  await proxy?.close();
  await lapsingProxy?.close();
  await stack?.close();
  await lapsing?.close();
});

/** A worker on `pipeline` that reaches the service through `through`, with 2 s leases. */
function workerVia(through: CuttingProxy, on: Stack, pipeline: string) {
  return startWorker({
    pipelines: [pipeline],
    client: new BucketsClient({
      baseUrls: [through.url],
      token: on.token("node", ["work:withdraw"]),
      env: {},
    }),
    cwd: dir,
    lives: 1,
    lease: 2,
    wait: 1,
    sleep: 0.1,
    logger: createLogger("silent"),
  });
}

const isHeartbeat = (req: { url?: string | undefined }) => /\/heartbeat/.test(req.url ?? "");
const isReport = (req: { method?: string | undefined; url?: string | undefined }) =>
  req.method === "PUT" && /^\/work(\?|$)/.test(req.url ?? "");

it("heartbeats refused past the lease: the work is stopped and its outcome is not reported", {
  timeout: 40_000,
}, async () => {
  const admin = stack.client();
  const file = join(dir, "fenced.pids");
  const [id] = await admin.deposit(
    [
      {
        pipeline: "fenced",
        site: "local",
        user: "admin",
        command: ["sh", "-c", `echo $$ >> ${file}; sleep 300 & echo $! >> ${file}; wait`],
      },
    ],
    { returnIds: true },
  );
  const worker = workerVia(proxy, stack, "fenced");
  try {
    const pids = await eventually(async () => {
      const found = existsSync(file) ? readFileSync(file, "utf8").split(/\s+/).filter(Boolean) : [];
      return found.length === 2 ? found.map(Number) : undefined;
    }, 15_000);
    proxy.cut = isHeartbeat;
    // Its lease lapses unrenewed: the worker stops the work (its processes end) and moves on.
    await worker.done;
    expect(pids.filter(alive)).toEqual([]);
  } finally {
    proxy.cut = () => false;
    await worker.stop();
  }
  // No outcome from this worker: the service still has attempt 1 running, for its reaper to end.
  const [work] = await admin.view({ id });
  expect(work).toMatchObject({ status: "running", attempt: 1 });
  expect(work?.results).toBeUndefined();
  expect(work?.history?.map((h) => h.status)).toEqual(["running"]);
});

it("heartbeats that get through keep the work, which reports as usual", {
  timeout: 40_000,
}, async () => {
  const admin = stack.client();
  const [id] = await admin.deposit(
    [{ pipeline: "kept", site: "local", user: "admin", command: ["sleep", "5"] }],
    { returnIds: true },
  );
  await workerVia(proxy, stack, "kept").done;
  const [work] = await admin.view({ id });
  expect(work).toMatchObject({ status: "success", attempt: 1 });
});

it("an outcome the service cannot take yet: heartbeats hold the lease until it lands", {
  timeout: 60_000,
}, async () => {
  const admin = lapsing.client();
  const [id] = await admin.deposit(
    [{ pipeline: "held", site: "local", user: "admin", command: ["echo", "fitted"] }],
    { returnIds: true },
  );
  // Every report is refused (503) until three leases have passed since the first.
  lapsingProxy.cut = isReport;
  const worker = workerVia(lapsingProxy, lapsing, "held");
  await eventually(async () => {
    const first = lapsingProxy.refused[0];
    return first !== undefined && Date.now() - first > 6_000 ? true : undefined;
  }, 30_000);
  lapsingProxy.cut = () => false;
  await worker.done;
  // The reaper ends lapsed leases every second: only heartbeats kept attempt 1 this worker's.
  const [work] = await admin.view({ id });
  expect(work).toMatchObject({ status: "success", attempt: 1, results: { stdout: "fitted\n" } });
  expect(work?.history?.map((h) => h.status)).toEqual(["success"]);
});
