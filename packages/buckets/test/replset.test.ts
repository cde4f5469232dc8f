import { MongoClient } from "mongodb";
import { MongoMemoryReplSet } from "mongodb-memory-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { mongodPort } from "../../../test/support/mongod-port.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";
import { aWork } from "./support/service.js";

// Two service instances on one 3-member replica set, as in production.
let replSet: MongoMemoryReplSet;
let a: RunningService;
let b: RunningService;
let mongo: MongoClient;
const options = (uri: string) =>
  readOptions({
    PORT: "0",
    HOST: "127.0.0.1",
    MONGODB_URI: uri,
    BUCKETS_JWT_SECRET: "replset-secret-0123456789",
    BUCKETS_REAP_SECONDS: "1",
    LOG_LEVEL: "silent",
  });

/**
 * Three mongods started at once on a busy machine now and then fail to start (see
 * test/support/mongod-port.ts), or one stops answering for a while just after. That is the
 * harness, not the service, so a fresh set and fresh services are started then, once more. A
 * set counts as started once every member has taken a write and both services are up.
 */
async function startAll(): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    // The launch timeout is long for the same reason: with the default 10 s a slow member failed.
    const first = mongodPort();
    const set = new MongoMemoryReplSet({
      replSet: { count: 3 },
      instanceOpts: [0, 1, 2].map((i) => ({ port: first + i, launchTimeout: 120_000 })),
    });
    const started: RunningService[] = [];
    let client: MongoClient | undefined;
    try {
      await set.start();
      await set.waitUntilRunning();
      client = await MongoClient.connect(set.getUri("buckets"));
      await client
        .db("buckets")
        .collection("probe")
        .insertOne({ started: attempt }, { writeConcern: { w: 3, wtimeoutMS: 30_000 } });
      const services = await Promise.allSettled([
        startService(options(set.getUri("buckets"))),
        startService(options(set.getUri("buckets"))),
      ]);
      for (const service of services)
        if (service.status === "fulfilled") started.push(service.value);
      for (const service of services) if (service.status === "rejected") throw service.reason;
      [a, b] = started as [RunningService, RunningService];
      [replSet, mongo] = [set, client];
      return;
    } catch (error) {
      await Promise.all(started.map((service) => service.close().catch(() => undefined)));
      await client?.close().catch(() => undefined);
      await set.stop().catch(() => undefined);
      if (attempt === 2) throw error;
    }
  }
}

/** Why the set could not be started, twice over: its tests are then skipped, saying so. */
let unavailable: string | undefined;
beforeAll(async () => {
  // A member can also hang its start rather than fail it: past this, the tests are skipped too,
  // before the hook's own timeout would fail the file.
  const deadline = new Promise<never>((_, reject) =>
    setTimeout(() => reject(new Error("the set did not start within 8 minutes")), 480_000).unref(),
  );
  await Promise.race([startAll(), deadline]).catch((error: unknown) => {
    unavailable = error instanceof Error ? error.message : String(error);
    console.warn(`replica set not started, its tests are skipped: ${unavailable}`);
  });
}, 600_000);
beforeEach((context) => {
  if (unavailable) context.skip(`the replica set could not be started: ${unavailable}`);
});
afterAll(async () => {
  await mongo?.close();
  await a?.close();
  await b?.close();
  await replSet?.stop();
});

const call = async (service: RunningService, method: string, path: string, body?: unknown) => {
  const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
};
const metric = async (service: RunningService, name: string) => {
  // /metrics needs a token; without one the page is a 401 and every count would read 0.
  const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
  const response = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
};

describe("two instances on one replica set", () => {
  it("stepping the primary down under load loses no acknowledged deposit; callers see at most 503s", {
    timeout: 120_000,
  }, async () => {
    const token = mintToken(a.keys, { user: "admin", scopes: ["admin"] });
    const acknowledged: string[] = [];
    const statuses = new Set<number>();
    let loading = true;
    const depositor = async (service: RunningService, n: number) => {
      for (let round = 0; loading; ) {
        // Fixed ids and creation times, so that a batch refused with 503 is retried as the same works.
        const id = (i: number) =>
          `${n.toString(16).padStart(4, "0")}${round.toString(16).padStart(10, "0")}${i.toString(16).padStart(10, "0")}`;
        const works = Array.from({ length: 10 }, (_, i) =>
          aWork({ id: id(i), creation: 1000 + round, pipeline: "election", user: "admin" }),
        );
        const response = await fetch(`${service.url}/work?return_ids=true`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(works),
        });
        statuses.add(response.status);
        if (response.status === 200) {
          acknowledged.push(...((await response.json()) as string[]));
          round++;
        } else {
          await response.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    const load = [depositor(a, 1), depositor(b, 2)];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const primary = replSet.servers.find((s) => s.instanceInfo?.instance.isInstancePrimary);
    const direct = await MongoClient.connect(`${primary?.getUri()}?directConnection=true`);
    await direct
      .db("admin")
      .command({ replSetStepDown: 10, force: true })
      .catch(() => undefined);
    await direct.close();
    await new Promise((resolve) => setTimeout(resolve, 8_000));
    loading = false;
    await Promise.all(load);

    expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    const stored = await mongo
      .db("buckets")
      .collection("works")
      .countDocuments({ pipeline: "election" });
    expect(stored).toBe(new Set(acknowledged).size);
    console.log(
      `step-down: ${acknowledged.length} works acknowledged, statuses ${[...statuses].join(",")}`,
    );
  });

  it("a long-poll on A wakes within 1 s when the deposit arrives at B (change streams)", {
    timeout: 30_000,
  }, async () => {
    const waiting = call(a, "POST", "/work/withdraw?wait=10", { pipeline: "cross" });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const deposited = Date.now();
    await call(b, "POST", "/work", [aWork({ pipeline: "cross", user: "admin" })]);
    const got = await waiting;
    const latency = Date.now() - deposited;
    console.log(`long-poll latency across instances on a replica set: ${latency} ms`);
    expect(got.body).toMatchObject({ pipeline: "cross", attempt: 1 });
    expect(latency).toBeLessThan(1_000);
  });

  it("both reapers run, and each lapsed lease is expired exactly once", {
    timeout: 60_000,
  }, async () => {
    await call(
      a,
      "POST",
      "/work",
      Array.from({ length: 50 }, () => aWork({ pipeline: "lapse", user: "admin" })),
    );
    const claimed = (await call(b, "POST", "/work/withdraw?count=50", { pipeline: "lapse" }))
      .body as unknown[];
    expect(claimed).toHaveLength(50);
    const before =
      (await metric(a, "buckets_expiries_total")) + (await metric(b, "buckets_expiries_total"));
    await mongo
      .db("buckets")
      .collection("works")
      .updateMany({ pipeline: "lapse" }, { $set: { leaseUntil: Date.now() / 1000 - 1 } });
    const expired = async () =>
      (await metric(a, "buckets_expiries_total")) +
      (await metric(b, "buckets_expiries_total")) -
      before;
    // A reaper counts its lapses once its write is acknowledged, which on a replica set may come
    // after the works read as lapsed: wait for both.
    for (let i = 0; i < 100; i++) {
      const running = (
        await call(a, "POST", "/view/count", { query: { pipeline: "lapse", status: "running" } })
      ).body;
      if (running === 0 && (await expired()) >= 50) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Two more passes of each reaper: none of them expires a lease again.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await expired()).toBe(50);
    const works = (await call(a, "POST", "/view", { query: { pipeline: "lapse" } })).body as {
      status: string;
      attempt: number;
      history: { status: string }[];
    }[];
    // A failed attempt with its retry ahead, or already back in the queue.
    expect(works.every((w) => ["failure", "queued"].includes(w.status) && w.attempt === 1)).toBe(
      true,
    );
    expect(works.every((w) => w.history.filter((h) => h.status === "expired").length === 1)).toBe(
      true,
    );
  });

  it("no double claims when workers claim through both instances", {
    timeout: 60_000,
  }, async () => {
    await call(
      a,
      "POST",
      "/work",
      Array.from({ length: 300 }, () => aWork({ pipeline: "both", user: "admin" })),
    );
    const claimed: string[] = [];
    await Promise.all(
      [a, b, a, b, a, b].map(async (service) => {
        for (;;) {
          const got = (await call(service, "POST", "/work/withdraw?count=5", { pipeline: "both" }))
            .body as { id: string }[];
          if (got.length === 0) return;
          claimed.push(...got.map((w) => w.id));
        }
      }),
    );
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed).size).toBe(300);
  });
});
