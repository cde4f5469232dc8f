import { once } from "node:events";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readOptions } from "../src/index.js";
import { MAX_DELIVERIES_PER_ENDPOINT } from "../src/service/runs/deliver.js";
import { startTestService, type TestService } from "./support/service.js";

/**
 * A run's callback never reaches the service's own network unless its operator allows it
 * (BUCKETS_CALLBACK_ALLOW), and a callback endpoint that never answers delays only its own
 * deliveries.
 */

type Run = { status: string; callback?: { attempts: number; delivered?: number; error?: string } };

/** No special address allowed, as a service starts by default. */
let strict: TestService;
/** Allows "localhost" by name, and 127.0.0.1: on the same database as `strict`. */
let allowing: TestService;
/** Allows 127.0.0.1, where the test's endpoints listen. */
let delivering: TestService;
const servers: Server[] = [];

beforeAll(async () => {
  const quiet = { BUCKETS_REAP_SECONDS: "3600" };
  strict = await startTestService(import.meta.filename, quiet, "shared");
  allowing = await startTestService(
    import.meta.filename,
    { ...quiet, BUCKETS_CALLBACK_ALLOW: "127.0.0.1, localhost" },
    "shared",
  );
  delivering = await startTestService(
    import.meta.filename,
    { ...quiet, BUCKETS_CALLBACK_ALLOW: "127.0.0.1" },
    "delivering",
  );
});
afterAll(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all([strict?.close(), allowing?.close(), delivering?.close()]);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

const config = (callback: string) => ({
  version: "2",
  name: `cb-${new ObjectId().toHexString().slice(-8)}`,
  defaults: { site: "local", user: "alice" },
  callback,
  pipeline: { steps: [{ name: "only", work: { command: ["true"] } }] },
});

async function startRun(t: TestService, callback: string): Promise<{ id: string; name: string }> {
  const body = { config: config(callback) };
  const created = await t.call("POST", "/runs", { token: t.tokens.alice, body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { id: (created.body as { id: string }).id, name: body.config.name };
}

/** Claims the run's one work and reports it done, through `t`: the run ends, its callback is due. */
async function finish(t: TestService, pipeline: string): Promise<void> {
  const claimed = await t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  const work = claimed.body as { id: string; attempt: number };
  const reported = await t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id: work.id, attempt: work.attempt, status: "success" }],
  });
  expect(reported.status, JSON.stringify(reported.body)).toBe(200);
}

/** Polls until `check` holds: no timing is asserted, only that it happens. */
async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A local endpoint; `answer` false accepts each request and never answers it. */
async function endpoint(answer: boolean) {
  const requests: IncomingMessage[] = [];
  let closed = 0;
  const server = createServer((req, res) => {
    requests.push(req);
    req.socket.on("close", () => closed++);
    req.resume();
    if (answer) req.on("end", () => res.end());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    requests,
    closed: () => closed,
  };
}

describe("callback targets", () => {
  it("BUCKETS_CALLBACK_ALLOW takes hosts, addresses and CIDRs; a bad entry is named at start", () => {
    const allow = "127.0.0.1, 10.1.0.0/16 hooks.internal,[::1]";
    expect(() => readOptions({ BUCKETS_CALLBACK_ALLOW: allow })).toThrow(
      /BUCKETS_CALLBACK_ALLOW.*\[::1\]/,
    );
    const options = readOptions({
      BUCKETS_CALLBACK_ALLOW: "127.0.0.1, 10.1.0.0/16 hooks.internal,::1",
    });
    expect(options.BUCKETS_CALLBACK_ALLOW).toEqual([
      "127.0.0.1",
      "10.1.0.0/16",
      "hooks.internal",
      "::1",
    ]);
    for (const bad of ["10.0.0.0/33", "10.0.0.0/", "hooks/8", "http://x"]) {
      expect(() => readOptions({ BUCKETS_CALLBACK_ALLOW: bad }), bad).toThrow(
        /BUCKETS_CALLBACK_ALLOW/,
      );
    }
  });

  it.each([
    ["loopback", "http://127.0.0.1:9/hook"],
    ["loopback, written in hex", "http://0x7f.1:9/hook"],
    ["a name of the loopback", "http://localhost:9/hook"],
    ["cloud metadata (link-local)", "http://169.254.169.254/latest/meta-data"],
    ["private", "http://10.1.2.3/hook"],
    ["private", "https://192.168.0.10/hook"],
    ["IPv6 loopback", "http://[::1]:9/hook"],
    ["IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:9/hook"],
    ["IPv6 unique local", "http://[fd00::1]/hook"],
  ])("POST /runs refuses a callback to %s (%s) with a 400 naming the setting", async (_, url) => {
    const refused = await strict.call("POST", "/runs", {
      token: strict.tokens.alice,
      body: { config: config(url) },
    });
    expect(refused.status).toBe(400);
    const message = JSON.stringify(refused.body);
    expect(message).toContain("callback");
    expect(message).toContain("BUCKETS_CALLBACK_ALLOW");
    // Nothing of a refused run is stored.
    const runs = await strict.call("GET", "/runs", { token: strict.tokens.alice });
    expect(JSON.stringify(runs.body)).not.toContain(url);
  });

  it("a schedule whose target's callback is refused is not added", async () => {
    const refused = await strict.call("POST", "/schedules", {
      token: strict.tokens.alice,
      body: {
        name: "nightly-probe",
        cron: "0 2 * * *",
        target: { config: config("http://169.254.169.254/") },
      },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain("BUCKETS_CALLBACK_ALLOW");
  });

  it("a public address is taken; what the operator allows is taken too, and only that", async () => {
    expect(
      (
        await strict.call("POST", "/runs", {
          token: strict.tokens.alice,
          body: { config: config("http://203.0.113.7/hook") },
        })
      ).status,
    ).toBe(201);
    await startRun(allowing, "http://127.0.0.1:10/hook");
    const outside = await allowing.call("POST", "/runs", {
      token: allowing.tokens.alice,
      body: { config: config("http://10.0.0.1/hook") },
    });
    expect(outside.status).toBe(400);
  });

  it("a name that resolves to a refused address at delivery is not called (DNS rebinding)", async () => {
    const target = await endpoint(true);
    // Taken by the instance that allows the name, as a name that resolved to a public address
    // then would be; delivered by one that does not allow what it resolves to now.
    const url = target.url.replace("127.0.0.1", "localhost");
    const { id, name } = await startRun(allowing, url);
    await finish(strict, name);
    const run = await eventually(
      async () =>
        (await strict.call("GET", `/runs/${id}`, { token: strict.tokens.alice })).body as Run,
      (r) => r.callback?.error !== undefined,
    );
    expect(run.callback?.error).toMatch(/^refused: localhost resolves to a loopback/);
    expect(run.callback?.delivered).toBeUndefined();
    expect(target.requests).toHaveLength(0);
  });
});

describe("delivery", () => {
  it("four endpoints that never answer delay no one else's callback", async () => {
    const hung = await Promise.all([1, 2, 3, 4].map(() => endpoint(false)));
    const healthy = await endpoint(true);
    const [first] = hung as [(typeof hung)[number]];
    // One run per hung endpoint, and more for the first than it is given at once.
    const targets = [...hung, first, first];
    for (const target of targets)
      await finish(delivering, (await startRun(delivering, target.url)).name);
    await eventually(
      async () => hung.map((h) => h.requests.length),
      (counts) => counts.every((n) => n > 0) && counts[0] === MAX_DELIVERIES_PER_ENDPOINT,
    );
    const { id, name } = await startRun(delivering, healthy.url);
    await finish(delivering, name);
    await eventually(
      async () => healthy.requests.length,
      (n) => n === 1,
    );
    // The healthy callback arrived while every hung request was still open (none had timed out),
    // and the first endpoint never held more than its share.
    expect(hung.map((h) => h.closed())).toEqual([0, 0, 0, 0]);
    expect(first.requests).toHaveLength(MAX_DELIVERIES_PER_ENDPOINT);
    const run = await eventually(
      async () =>
        (await delivering.call("GET", `/runs/${id}`, { token: delivering.tokens.alice }))
          .body as Run,
      (r) => r.callback?.delivered !== undefined,
    );
    expect(run.status).toBe("success");
  });
});
