import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { testServiceEnv } from "../../../test/support/service-env.js";
import {
  mintToken,
  type RunningService,
  readOptions,
  type Scope,
  startService,
} from "../src/index.js";

/** A config's `on:` and `--at`, on a clock the test moves: no test waits for a tick. */

/** Monday 5 January 2026, 00:00 UTC. */
const START = Date.parse("2026-01-05T00:00:00Z") / 1000;
const HOUR = 3600;

let clock = START;
let mongo: MongoClient;
let db: Db;
let s: RunningService;

beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  const options = readOptions(
    testServiceEnv(import.meta.filename, "", {
      BUCKETS_REAP_SECONDS: "3600",
      BUCKETS_SCHEDULE_SECONDS: "30",
    }),
  );
  s = await startService(options, { now: () => clock });
});
afterAll(async () => {
  await s.close();
  await mongo.close();
});

const token = (user: string, scopes: Scope[]) => mintToken(s.keys, { user, scopes });
const alice = () => token("alice", ["work:deposit", "work:read"]);
const bob = () => token("bob", ["work:deposit", "work:read"]);
const worker = () => token("worker-1", ["work:withdraw", "work:read"]);

async function call(method: string, path: string, bearer: string, body?: unknown) {
  const response = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}
const message = (body: unknown) => JSON.stringify(body);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const config = (name: string, extra: Record<string, unknown> = {}) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  ...extra,
  pipeline: {
    steps: [
      { name: "nightly", work: { command: ["true"], parameters: { at: "${{ release.time }}" } } },
    ],
  },
});

type Schedule = { id: string; name: string; cron: string; timezone: string; config?: string };

const schedulesOf = async (bearer: string, name: string) =>
  ((await call("GET", "/schedules", bearer)).body as Schedule[]).filter((x) => x.config === name);

describe("on: in a config", () => {
  it("deploying creates its cron schedules, owned by the deployer; deploying again replaces them", async () => {
    const name = fresh("deployed");
    const on = [{ cron: "0 2 * * *", timezone: "Europe/Berlin" }, { manual: true }];
    const deployed = await call("POST", "/configs", alice(), config(name, { on }));
    expect(deployed.status, message(deployed.body)).toBe(200);
    expect(deployed.body).toMatchObject({ config: name, pipelines: [] });
    expect(await db.collection("runs").countDocuments({ name })).toBe(0);
    const [made] = await schedulesOf(alice(), name);
    expect(made).toMatchObject({
      name: `${name}.on.1`,
      cron: "0 2 * * *",
      timezone: "Europe/Berlin",
    });
    expect(await schedulesOf(bob(), name)).toEqual([]);

    const again = await call(
      "POST",
      "/configs",
      alice(),
      config(name, { on: [{ cron: "0 3 * * *" }, { cron: "0 4 * * *" }] }),
    );
    expect(again.status, message(again.body)).toBe(200);
    const now = await schedulesOf(alice(), name);
    expect(now.map((x) => [x.name, x.cron, x.timezone])).toEqual([
      [`${name}.on.1`, "0 3 * * *", "UTC"],
      [`${name}.on.2`, "0 4 * * *", "UTC"],
    ]);
  });

  it("each tick runs the config, with ${{ release.time }} the tick's time", async () => {
    const name = fresh("ticking");
    const deployed = await call(
      "POST",
      "/configs",
      alice(),
      config(name, { on: [{ cron: "0 2 * * *" }] }),
    );
    expect(deployed.status, message(deployed.body)).toBe(200);
    clock = START + 2 * HOUR + 1;
    try {
      await s.ticker.evaluate();
    } finally {
      clock = START;
    }
    const works = await call("POST", "/view", alice(), { query: { pipeline: name } });
    expect(
      (works.body as { parameters: unknown; step: string }[]).map((w) => [w.step, w.parameters]),
    ).toEqual([["nightly", { at: "2026-01-05T02:00:00.000Z" }]]);
  });

  it("removing the config removes its schedules; removing it again is a 404", async () => {
    const name = fresh("removed");
    expect(
      (await call("POST", "/configs", alice(), config(name, { on: [{ cron: "0 2 * * *" }] })))
        .status,
    ).toBe(200);
    const byBob = await call("DELETE", `/configs?name=${name}`, bob());
    expect(byBob.status).toBe(404);
    expect(await schedulesOf(alice(), name)).toHaveLength(1);
    const removed = await call("DELETE", `/configs?name=${name}`, alice());
    expect(removed.status, message(removed.body)).toBe(200);
    expect(await schedulesOf(alice(), name)).toEqual([]);
    expect(await db.collection("schedules").countDocuments({ config: name })).toBe(0);
    const twice = await call("DELETE", `/configs?name=${name}`, alice());
    expect(twice.status).toBe(404);
    expect(message(twice.body)).toMatch(/no deployed config named/);
  });

  it("a config whose on: has no manual trigger is not started by hand", async () => {
    const name = fresh("scheduled-only");
    const answer = await call("POST", "/runs", alice(), {
      config: config(name, { on: [{ cron: "0 2 * * *" }] }),
    });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(
      /has no \{manual: true\}, so it runs only on its schedule/,
    );
    const manual = await call("POST", "/runs", alice(), {
      config: config(fresh("manual"), { on: [{ cron: "0 2 * * *" }, { manual: true }] }),
    });
    expect(manual.status, message(manual.body)).toBe(201);
  });

  it.each([
    ["a bad cron", [{ cron: "every night" }], /on.*cron must have 5 fields/],
    [
      "an unknown zone",
      [{ cron: "0 2 * * *", timezone: "Mars/Olympus" }],
      /timezone must be an IANA zone/,
    ],
    ["manual: false", [{ manual: false }], /on/],
    ["no trigger", [], /on must name at least one trigger/],
  ])("refuses %s, storing nothing", async (_what, on, expected) => {
    const name = fresh("bad-on");
    const answer = await call("POST", "/configs", alice(), config(name, { on }));
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(expected);
    expect(await db.collection("schedules").countDocuments({ config: name })).toBe(0);
  });
});

describe("a run released later (--at)", () => {
  it("is stored now and claimed only from its time, which ${{ release.time }} gives", async () => {
    const name = fresh("later");
    const at = "2026-01-05T09:00:00+01:00";
    const started = await call("POST", "/runs", alice(), { config: config(name), at });
    expect(started.status, message(started.body)).toBe(201);
    const early = await call("POST", "/work/withdraw", worker(), { pipeline: name });
    expect(early.body).toBeNull();
    clock = START + 8 * HOUR;
    try {
      const claimed = await call("POST", "/work/withdraw", worker(), { pipeline: name });
      expect(claimed.body).toMatchObject({ parameters: { at: "2026-01-05T08:00:00.000Z" } });
    } finally {
      clock = START;
    }
    const run = await call("GET", `/runs/${(started.body as { id: string }).id}`, alice());
    expect(message(run.body)).toContain("released at 2026-01-05T08:00:00.000Z");
  });

  it.each([
    ["a time in the past", "2025-01-01T00:00:00Z", /at: 2025-01-01T00:00:00.000Z is in the past/],
    ["a time without an offset", "2026-02-01T09:00", /at must be a time/],
    ["a text", "tomorrow", /at must be a time/],
  ])("refuses %s", async (_what, at, expected) => {
    const name = fresh("bad-at");
    const answer = await call("POST", "/runs", alice(), { config: config(name), at });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(expected);
    expect(await db.collection("runs").countDocuments({ name })).toBe(0);
  });
});
