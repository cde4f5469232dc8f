import { mintToken, type RunningService, readOptions, startService } from "@workflow/buckets";
import { BucketsClient } from "@workflow/work";
import { MongoMemoryServer } from "mongodb-memory-server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { mongodPort } from "../support/mongod-port.js";
import { eventually } from "../support/stack.js";

// A mongod of this test's own, so that stopping it disturbs no other test.
let mongod: MongoMemoryServer;
let service: RunningService;
beforeAll(async () => {
  mongod = await MongoMemoryServer.create({
    instance: { port: mongodPort(), launchTimeout: 60_000 },
  });
  service = await startService(
    readOptions({
      PORT: "0",
      HOST: "127.0.0.1",
      MONGODB_URI: mongod.getUri("outage"),
      BUCKETS_JWT_SECRET: "outage-secret-0123456789abcdef",
      LOG_LEVEL: "silent",
    }),
  );
});
afterAll(async () => {
  await service.close();
  await mongod.stop();
});

it("MongoDB stops for 5 s under load: callers get 503 with Retry-After, clients retry, all completes", {
  timeout: 180_000,
}, async () => {
  const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
  const client = new BucketsClient({
    baseUrls: [service.url],
    token,
    env: {},
    retry: { budgetMs: 90_000 },
  });
  const deposited: string[] = [];
  let loading = true;
  const depositor = async (n: number) => {
    for (let round = 0; loading; round++) {
      const ids = await client.deposit(
        Array.from({ length: 10 }, (_, i) => ({
          pipeline: "outage",
          site: "s",
          user: "admin",
          command: ["true"],
          event: [n, round, i],
        })),
        { returnIds: true },
      );
      deposited.push(...ids);
    }
  };
  const probes: { status: number; retryAfter: string | null }[] = [];
  const prober = async () => {
    while (loading) {
      const response = await fetch(`${service.url}/view/count`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      }).catch(() => undefined);
      if (response) {
        await response.arrayBuffer();
        probes.push({ status: response.status, retryAfter: response.headers.get("retry-after") });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  const load = [depositor(0), depositor(1), prober()];

  await eventually(async () => (deposited.length >= 100 ? true : undefined));
  const before = probes.length;
  await mongod.stop({ doCleanup: false });
  // Down until the service has answered a probe with 503: callers have seen the outage.
  await eventually(
    async () => (probes.slice(before).some((p) => p.status === 503) ? true : undefined),
    60_000,
  );
  await mongod.start(true);
  const resumedAt = deposited.length;
  await eventually(async () => (deposited.length >= resumedAt + 100 ? true : undefined), 90_000);
  loading = false;
  await Promise.all(load);

  const unavailable = probes.filter((p) => p.status === 503);
  expect(unavailable.length).toBeGreaterThan(0);
  expect(unavailable.every((p) => Number(p.retryAfter) > 0)).toBe(true);
  expect(probes.every((p) => p.status === 200 || p.status === 503)).toBe(true);
  expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  const stored = await client.view(
    { pipeline: "outage" },
    { projection: { pipeline: 1 }, limit: 10_000 },
  );
  expect(new Set(stored.map((w) => w.id))).toEqual(new Set(deposited));
  console.log(
    `outage: ${unavailable.length} probes answered 503, ${deposited.length} works deposited, none lost`,
  );
});
