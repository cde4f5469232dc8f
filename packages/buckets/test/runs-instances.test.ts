import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Db, MongoClient } from "mongodb";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { until } from "../../../test/support/eventually.js";
import { type FakeSlack, healthySlack, startFakeSlack } from "../../../test/support/slack.js";
import { releaseRuns } from "../src/service/runs/release.js";
import { runCalls } from "./support/runs.js";
import {
  CALLBACK_SECRET,
  notifyingEnv,
  startTestService,
  type TestService,
} from "./support/service.js";

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };
type Run = {
  status: string;
  events: { kind: string; step?: string }[];
  callback?: { delivered?: number };
  slack?: { delivered?: number; attempts: number };
};

let a: TestService;
let b: TestService;
let slack: FakeSlack;
let db: Db;
let mongo: MongoClient;
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  slack = await startFakeSlack();
  const env = notifyingEnv(slack.url);
  a = await startTestService(import.meta.filename, env);
  b = await startTestService(import.meta.filename, env);
});
afterAll(async () => {
  await mongo.close();
  await Promise.all([a?.close(), b?.close(), slack?.close()]);
});

const withdraw = (t: TestService, pipeline: string) =>
  runCalls<unknown, Claimed>(t).withdraw(pipeline);
const report = (t: TestService, w: Claimed, results: Record<string, unknown> = {}) =>
  runCalls(t).report(w, "success", results);

/** Polls until `check` holds: no timing is asserted, only that it happens. */
const eventually = until;

const steps = (callback?: string) => ({
  version: "2",
  name: `race-${new ObjectId().toHexString().slice(-6)}`,
  defaults: { site: "local" },
  ...(callback ? { callback } : {}),
  pipeline: {
    steps: [
      {
        name: "root",
        matrix: { i: [...Array(20).keys()] },
        work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
      },
      {
        name: "fan",
        needs: ["root"],
        matrix: { j: [1, 2, 3, 4, 5] },
        work: { command: ["true"], parameters: { all: "${{ needs.root.results.i }}" } },
      },
      { name: "last", needs: ["fan"], work: { command: ["true"] } },
    ],
  },
});

describe("two instances", () => {
  it("race releases: each dependent is released exactly once", async () => {
    const config = steps();
    const created = await a.call("POST", "/runs", { token: a.tokens.alice, body: { config } });
    const { id } = created.body as { id: string };
    const roots: Claimed[] = [];
    for (let w = await withdraw(a, config.name); w; w = await withdraw(a, config.name))
      roots.push(w);
    expect(roots).toHaveLength(20);
    // Outcomes through both instances at once, and both instances evaluating the run meanwhile.
    await Promise.all([
      ...roots.map((w, i) => report(i % 2 ? a : b, w, { i: w.parameters?.i })),
      ...[...Array(10).keys()].map((i) =>
        releaseRuns((i % 2 ? a : b).service.ctx, [new ObjectId(id)]),
      ),
    ]);
    const fan: Claimed[] = [];
    for (let w = await withdraw(b, config.name); w; w = await withdraw(b, config.name)) fan.push(w);
    expect(fan).toHaveLength(5);
    for (const w of fan) expect(w.parameters?.all).toEqual([...Array(20).keys()]);
    await Promise.all(fan.map((w, i) => report(i % 2 ? a : b, w)));
    const last = (await withdraw(a, config.name)) as Claimed;
    expect(await withdraw(b, config.name)).toBeNull();
    await report(b, last);
    const works = await db
      .collection("works")
      .find({ run: new ObjectId(id) })
      .toArray();
    // One claim per work: never released (and claimed) twice.
    for (const w of works) expect(w.history?.length ?? 0).toBe(1);
    const run = (await a.call("GET", `/runs/${id}`, { token: a.tokens.alice })).body as Run;
    const started = run.events.filter((e) => e.kind === "step started").map((e) => e.step);
    expect(started.sort()).toEqual(["fan", "last", "root"]);
    expect(run.events.filter((e) => e.kind.startsWith("run "))).toHaveLength(1);
    expect(run.status).toBe("success");
  });

  it("the callback arrives signed, and is retried after a 500", async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const server: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        received.push({
          body,
          signature: req.headers["x-buckets-signature"] as string | undefined,
        });
        res.statusCode = received.length === 1 ? 500 : 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`;
      const config = {
        ...steps(url),
        pipeline: { steps: [{ name: "only", work: { command: ["true"] } }] },
      };
      const { id } = (await a.call("POST", "/runs", { token: a.tokens.alice, body: { config } }))
        .body as { id: string };
      await report(a, (await withdraw(a, config.name)) as Claimed);
      const run = await eventually(
        async () => (await a.call("GET", `/runs/${id}`, { token: a.tokens.alice })).body as Run,
        (r) => r.callback?.delivered !== undefined,
      );
      expect(received).toHaveLength(2);
      for (const { body, signature } of received) {
        expect(signature).toBe(
          `sha256=${createHmac("sha256", CALLBACK_SECRET).update(body).digest("hex")}`,
        );
        expect(JSON.parse(body)).toMatchObject({ id, status: "success", name: config.name });
      }
      expect(run.status).toBe("success");
    } finally {
      server.close();
    }
  });

  it("Slack gets one message per run, from one of the instances, retried after Slack fails", async () => {
    let failures = 1;
    slack.answer = (method) =>
      method === "chat.postMessage" && failures-- > 0
        ? { status: 200, body: { ok: false, error: "internal_error" } }
        : healthySlack(method);
    const config = {
      ...steps(),
      notify: { slack: { channel_id: "C9", message: "the nightly fit", member_ids: ["U7"] } },
      pipeline: {
        steps: [
          { name: "fit", matrix: { i: [1, 2, 3] }, work: { command: ["true"] } },
          { name: "sum", needs: ["fit"], work: { command: ["true"] } },
        ],
      },
    };
    const created = await a.call("POST", "/runs", { token: a.tokens.alice, body: { config } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id } = created.body as { id: string };
    // Claimed from one instance, reported through the other, until the run has ended.
    await eventually(
      async () => {
        const w = await withdraw(a, config.name);
        if (w) await report(b, w);
        return (await a.call("GET", `/runs/${id}`, { token: a.tokens.alice })).body as Run;
      },
      (r) => r.status !== "running",
    );
    const run = await eventually(
      async () => (await b.call("GET", `/runs/${id}`, { token: b.tokens.alice })).body as Run,
      (r) => r.slack?.delivered !== undefined,
    );
    expect(run.status).toBe("success");
    // The failed post, then the channel and the member once each: one message, never one per work.
    const posts = slack.calls.filter((c) => c.method === "chat.postMessage");
    expect(posts.map((c) => c.body.channel)).toEqual(["C9", "C9", "D1"]);
    expect(slack.calls.filter((c) => c.method === "conversations.open")).toHaveLength(1);
    for (const post of posts) {
      expect(post.authorization).toBe("Bearer xoxb-service");
      expect(post.body.text).toBe(`:white_check_mark: run ${config.name} ${id}: success`);
      const shown = JSON.stringify(post.body.blocks);
      expect(shown).toContain("the nightly fit");
      expect(shown).toContain("success 4");
      expect(shown).toContain("fit: success (3)");
    }
    expect(run.slack?.attempts).toBe(2);
    slack.reset();
  });

  it("a step's work naming Slack is refused, as is a run asking for Slack where no token is set", async () => {
    const perWork = {
      ...steps(),
      pipeline: {
        steps: [
          { name: "one", work: { command: ["true"], notify: { slack: { channel_id: "C1" } } } },
        ],
      },
    };
    const refused = await a.call("POST", "/runs", {
      token: a.tokens.alice,
      body: { config: perWork },
    });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/one Slack message.*at the top of the config/);

    const plain = await startTestService(import.meta.filename, {}, "no-slack");
    try {
      const config = { ...steps(), notify: { slack: { channel_id: "C1" } } };
      const answer = await plain.call("POST", "/runs", {
        token: plain.tokens.alice,
        body: { config },
      });
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).toMatch(/BUCKETS_SLACK_TOKEN/);
    } finally {
      await plain.close();
    }
  });
});
