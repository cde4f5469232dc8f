import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Db, MongoClient } from "mongodb";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { until } from "../../../test/support/eventually.js";
import { type FakeSlack, startFakeSlack } from "../../../test/support/slack.js";
import { reap } from "../src/service/reaper.js";
import { notifyingEnv, startTestService, type TestService } from "./support/service.js";

type Claimed = { id: string; attempt: number };
type Run = {
  status: string;
  deadline?: number;
  steps: { name: string; state: string; counts: Record<string, number> }[];
  events: { kind: string; detail?: string }[];
  callback?: { delivered?: number };
  slack?: { delivered?: number };
};

let a: TestService;
let b: TestService;
let slack: FakeSlack;
let db: Db;
let mongo: MongoClient;
let server: Server;
const posted: Record<string, unknown>[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  slack = await startFakeSlack();
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      posted.push(JSON.parse(body) as Record<string, unknown>);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  env = notifyingEnv(slack.url);
  a = await startTestService(import.meta.filename, env);
  b = await startTestService(import.meta.filename, env);
});
afterAll(async () => {
  await mongo.close();
  server.close();
  await Promise.all([a?.close(), b?.close(), slack?.close()]);
});

/** Polls until `check` holds: no timing is asserted, only that it happens. */
const eventually = until;

const getRun = async (t: TestService, id: string) =>
  (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as Run;
/** The deadline moved into the past, as if the run's timeout had passed. */
const expire = (id: string) =>
  db
    .collection("runs")
    .updateOne({ _id: new ObjectId(id) }, [
      { $set: { deadline: { $subtract: ["$deadline", 7200] } } },
    ]);

const config = (name: string) => ({
  version: "2",
  name,
  timeout: "1h",
  defaults: { site: "local" },
  callback: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
  notify: { slack: { channel_id: "C9" } },
  pipeline: {
    steps: [
      { name: "fit", matrix: { i: [1, 2, 3] }, work: { command: ["true"] } },
      { name: "sum", needs: ["fit"], work: { command: ["true"] } },
    ],
  },
});

describe("a run's timeout", () => {
  it("ends the run timedout once, with two instances looking, and its running work hears it at its heartbeat", async () => {
    const name = `timeout-${new ObjectId().toHexString().slice(-6)}`;
    const created = await a.call("POST", "/runs", {
      token: a.tokens.alice,
      body: { config: config(name) },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body as { id: string };
    const before = await getRun(a, id);
    expect(before.deadline).toBeGreaterThan(Math.floor(Date.now() / 1000) + 3000);
    const claimed = (
      await a.call("POST", "/work/withdraw?lease=60", {
        token: a.tokens.worker,
        body: { pipeline: name },
      })
    ).body as Claimed;
    // Before its deadline the periodic loop leaves it alone.
    await reap(a.service.ctx);
    expect((await getRun(a, id)).status).toBe("running");

    await expire(id);
    await Promise.all([reap(a.service.ctx), reap(b.service.ctx), reap(a.service.ctx)]);
    const run = await getRun(b, id);
    expect(run.status).toBe("timedout");
    expect(run.events.filter((e) => e.kind.startsWith("run "))).toEqual([
      expect.objectContaining({ kind: "run timed out" }),
    ]);
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ["fit", "timedout"],
      ["sum", "timedout"],
    ]);
    expect(run.steps[0]?.counts).toEqual({ cancelled: 3 });
    const beat = await a.call("POST", `/work/${claimed.id}/heartbeat?attempt=1`, {
      token: a.tokens.worker,
    });
    expect(beat.body).toEqual({ cancel: true });
    // Nothing of it can be claimed any more.
    const next = await a.call("POST", "/work/withdraw", {
      token: a.tokens.worker,
      body: { pipeline: name },
    });
    expect(next.body).toBeNull();

    const delivered = await eventually(
      () => getRun(a, id),
      (r) => r.callback?.delivered !== undefined && r.slack?.delivered !== undefined,
    );
    expect(delivered.status).toBe("timedout");
    expect(posted.filter((p) => p.id === id)).toEqual([
      expect.objectContaining({ id, status: "timedout" }),
    ]);
    const posts = slack.calls.filter(
      (c) => c.method === "chat.postMessage" && String(c.body.text).includes(id),
    );
    expect(posts).toHaveLength(1);
    expect(String(posts[0]?.body.text)).toContain("timedout");

    // A timed-out run's listing filter finds it.
    const listed = await a.call("GET", `/runs?status=timedout&name=${name}`, {
      token: a.tokens.alice,
    });
    expect((listed.body as { id: string }[]).map((r) => r.id)).toEqual([id]);
  });

  it("is kept with the run: a service started after the run was created times it out", async () => {
    const name = `restart-${new ObjectId().toHexString().slice(-6)}`;
    const { id } = (
      await a.call("POST", "/runs", { token: a.tokens.alice, body: { config: config(name) } })
    ).body as { id: string };
    const later = await startTestService(import.meta.filename, env);
    try {
      await expire(id);
      await reap(later.service.ctx);
      expect((await getRun(later, id)).status).toBe("timedout");
    } finally {
      await later.close();
    }
  });

  it("refuses a timeout it cannot read, naming the field and the forms it takes", async () => {
    const refused = await a.call("POST", "/runs", {
      token: a.tokens.alice,
      body: { config: { ...config("bad-timeout"), timeout: "2 hours" } },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('timeout must be a duration such as \\"90s\\"');
  });
});
