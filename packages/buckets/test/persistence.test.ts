import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MongoMemoryServer } from "mongodb-memory-server";
import { afterAll, describe, expect, it } from "vitest";
import { mongodPort } from "../../../test/support/mongod-port.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";
import { aWork } from "./support/service.js";

/** Whatever a test started, stopped at the end even when it failed half-way. */
const services: RunningService[] = [];
const servers: MongoMemoryServer[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const service of services) await service.close().catch(() => undefined);
  for (const server of servers) await server.stop().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const start = async (env: Record<string, string>, secretsDir: string) => {
  const service = await startService(readOptions(env, secretsDir));
  services.push(service);
  return service;
};

const call = async (
  service: RunningService,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) => {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text === "" ? undefined : (JSON.parse(text) as unknown),
  };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the embedded default (no MONGODB_URI, no JWT key)", () => {
  it("keeps works, its generated secret and so its tokens across a restart", {
    timeout: 120_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "buckets-persist-"));
    dirs.push(dataDir);
    // A secrets directory that does not exist: nothing but this environment configures the service.
    const secretsDir = join(dataDir, "no-secrets-here");
    const env = { PORT: "0", HOST: "127.0.0.1", BUCKETS_DATA_DIR: dataDir, LOG_LEVEL: "silent" };

    const first = await start(env, secretsDir);
    expect(first.keys.generated).toBe(true);
    expect(first.database.embeddedUri).toBeDefined();
    const secretFile = join(dataDir, "jwt-secret");
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);
    const secret = readFileSync(secretFile, "utf8");

    const admin = mintToken(first.keys, { user: "admin", scopes: ["admin"] });
    const works = [
      aWork({ user: "admin", pipeline: "kept", priority: 5, parameters: { n: 1 } }),
      aWork({ user: "admin", pipeline: "kept", priority: 1, parameters: { n: 2 } }),
      aWork({ user: "admin", pipeline: "kept", parameters: { n: 3 } }),
    ];
    const deposited = await call(first, admin, "POST", "/work?return_ids=true", works);
    expect(deposited.status).toBe(200);
    const ids = deposited.body as string[];
    expect(ids).toHaveLength(3);
    // One of them is claimed before the restart: its state must survive too.
    const claimed = await call(first, admin, "POST", "/work/withdraw", { pipeline: "kept" });
    expect(claimed.body).toMatchObject({ id: ids[0], status: "running", attempt: 1 });
    await first.close();

    const second = await start(env, secretsDir);
    expect(second.keys.generated).toBe(true);
    expect(readFileSync(secretFile, "utf8")).toBe(secret);
    expect(statSync(secretFile).mode & 0o777).toBe(0o600);

    // The token minted before the restart still opens the door.
    const view = await call(second, admin, "POST", "/view", { query: { pipeline: "kept" } });
    expect(view.status).toBe(200);
    const after = view.body as { id: string; status: string; parameters: { n: number } }[];
    expect(after.map((w) => w.id).sort()).toEqual([...ids].sort());
    const byId = new Map(after.map((w) => [w.id, w]));
    expect(byId.get(ids[0] as string)).toMatchObject({ status: "running", parameters: { n: 1 } });
    expect(byId.get(ids[1] as string)).toMatchObject({ status: "queued", parameters: { n: 2 } });
    expect(byId.get(ids[2] as string)).toMatchObject({ status: "queued", parameters: { n: 3 } });
    expect((await call(second, admin, "GET", "/status/details/kept")).body).toMatchObject({
      total: 3,
      queued: 2,
      running: 1,
    });
    // The queue goes on where it stopped: the next claim is the oldest priority-3 work.
    const next = await call(second, admin, "POST", "/work/withdraw", { pipeline: "kept" });
    expect(next.body).toMatchObject({ id: ids[2], status: "running" });
    await second.close();
  });
});

describe("/readyz and MongoDB going away", () => {
  it("answers 503 with Retry-After while mongod is down, and 200 again once it is back", {
    timeout: 120_000,
  }, async () => {
    const server = await MongoMemoryServer.create({
      instance: { port: mongodPort(), launchTimeout: 60_000 },
    });
    servers.push(server);
    const service = await start(
      {
        PORT: "0",
        HOST: "127.0.0.1",
        MONGODB_URI: server.getUri("readyz"),
        BUCKETS_JWT_SECRET: "readyz-test-secret-0123456789",
        LOG_LEVEL: "silent",
      },
      "/nonexistent-secrets-dir",
    );
    const admin = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    const [id] = (await call(service, admin, "POST", "/work?return_ids=true", [aWork()]))
      .body as string[];

    await server.stop({ doCleanup: false });

    const down = await call(service, admin, "GET", "/readyz");
    expect(down.status).toBe(503);
    expect(Number(down.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(down.body).toMatchObject({
      error: { code: "unavailable", message: expect.any(String) },
    });

    // Calls that need MongoDB say the same, never a 500, never a stack trace.
    const calls = await Promise.all([
      call(service, admin, "POST", "/view", { query: { pipeline: "fit" } }),
      call(service, admin, "POST", "/view/count", { query: {} }),
      call(service, admin, "POST", "/work", [aWork()]),
      call(service, admin, "POST", "/work/withdraw", { pipeline: "fit" }),
      call(service, admin, "GET", "/status"),
    ]);
    for (const answer of calls) {
      expect(answer.status, answer.text).toBe(503);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect((answer.body as { error: { code: string } }).error.code).toBe("unavailable");
      expect(answer.text).not.toMatch(/\n\s+at /);
    }
    // The process itself is alive all along.
    expect((await fetch(`${service.url}/livez`)).status).toBe(200);
    // A load balancer keeps probing: once the driver has marked the server down as well, the
    // answer is still a prompt 503 (the probe is bounded at 2 s, below the 5 s server selection).
    for (let probe = 0; probe < 3; probe++) {
      const asked = Date.now();
      const again = await call(service, admin, "GET", "/readyz");
      expect(Date.now() - asked).toBeLessThan(3_500);
      expect(again.status, again.text).toBe(503);
      expect(again.headers.get("retry-after")).not.toBeNull();
      expect(again.body).toMatchObject({ error: { code: "unavailable" } });
    }

    await server.start(true);
    let status = 0;
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      status = (await fetch(`${service.url}/readyz`)).status;
      if (status === 200) break;
      await sleep(250);
    }
    expect(status).toBe(200);
    // Back to work, with the data from before.
    const view = await call(service, admin, "POST", "/view", { query: { id } });
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject([{ id, status: "queued" }]);

    await service.close();
    await server.stop();
  });
});
