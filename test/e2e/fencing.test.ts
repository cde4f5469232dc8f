import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BucketsClient } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";

/**
 * Self-fencing: a worker that cannot renew its lease before it lapses stops the work, and does not
 * report an outcome for it: the service may already have given the work to another worker.
 */

let stack: Stack;
let dir: string;
let proxy: Server;
let proxyUrl: string;
/** While true, the proxy answers heartbeats 503 instead of passing them on. */
let cutHeartbeats = false;

beforeAll(async () => {
  // The reaper is slow, so that an outcome reported late would still be recorded.
  stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  dir = mkdtempSync(join(tmpdir(), "fencing-"));
  const target = new URL(stack.url);
  proxy = createServer((req, res) => {
    if (cutHeartbeats && /\/heartbeat/.test(req.url ?? "")) {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { code: "unavailable", message: "cut by the test" } }));
      return;
    }
    const upstream = request(
      {
        host: target.hostname,
        port: target.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => proxy?.close(resolve));
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
};

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
  const client = new BucketsClient({
    baseUrls: [proxyUrl],
    token: stack.token("node", ["work:withdraw"]),
    env: {},
  });
  const worker = startWorker({
    pipelines: ["fenced"],
    client,
    cwd: dir,
    lives: 1,
    // Claims hold 2 s between heartbeats.
    lease: 2,
    wait: 1,
    sleep: 0.1,
    logger: createLogger("silent"),
  });
  try {
    const pids = await eventually(async () => {
      const found = existsSync(file) ? readFileSync(file, "utf8").split(/\s+/).filter(Boolean) : [];
      return found.length === 2 ? found.map(Number) : undefined;
    }, 15_000);
    cutHeartbeats = true;
    // Its lease lapses unrenewed: the worker stops the work (its processes end) and moves on.
    await worker.done;
    expect(pids.filter(alive)).toEqual([]);
  } finally {
    cutHeartbeats = false;
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
  const client = new BucketsClient({
    baseUrls: [proxyUrl],
    token: stack.token("node", ["work:withdraw"]),
    env: {},
  });
  const worker = startWorker({
    pipelines: ["kept"],
    client,
    cwd: dir,
    lives: 1,
    // Claims hold 2 s between heartbeats.
    lease: 2,
    wait: 1,
    sleep: 0.1,
    logger: createLogger("silent"),
  });
  await worker.done;
  const [work] = await admin.view({ id });
  expect(work).toMatchObject({ status: "success", attempt: 1 });
});
