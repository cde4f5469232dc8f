import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { mintToken, type RunningService, type Scope } from "../src/index.js";
import { QUIET_REAPER, startTestService } from "./support/service.js";

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
  const env = { ...QUIET_REAPER, BUCKETS_SCHEDULE_SECONDS: "30" };
  s = (await startTestService(import.meta.filename, env, "", { now: () => clock })).service;
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

/** The schedules evaluated just after 02:00 on the first day; answers the works of `pipeline` then. */
async function afterNightlyTick(pipeline: string) {
  clock = START + 2 * HOUR + 1;
  try {
    await s.ticker.evaluate();
  } finally {
    clock = START;
  }
  return call("POST", "/view", alice(), { query: { pipeline } });
}

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
    const works = await afterNightlyTick(name);
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

const TYPED = {
  n: { type: "int", default: 1, choices: [1, 2, 5] },
  label: { type: "str", required: false },
};
const typed = (name: string, on: unknown[] = [{ cron: "0 2 * * *" }]) => ({
  ...config(name, { on, params: TYPED }),
  pipeline: {
    steps: [
      {
        name: "nightly",
        work: {
          command: ["true"],
          parameters: { n: "${{ params.n }}", at: "${{ release.time }}" },
        },
      },
    ],
  },
});
const deploy = (bearer: string, body: unknown, query: Record<string, string> = {}) =>
  call("POST", `/configs?${new URLSearchParams(query)}`, bearer, body);

describe("deploying with params, and a dry run of it", () => {
  it("stores the params on each schedule it makes, and each tick's run gets them, typed", async () => {
    const name = fresh("with-params");
    const deployed = await deploy(alice(), typed(name), { params: JSON.stringify({ n: "5" }) });
    expect(deployed.status, message(deployed.body)).toBe(200);
    const schedules = (await call("GET", "/schedules", alice())).body as {
      config?: string;
      target: { params?: unknown };
    }[];
    expect(schedules.find((x) => x.config === name)?.target.params).toEqual({ n: "5" });
    const works = await afterNightlyTick(name);
    expect((works.body as { parameters: unknown }[]).map((w) => w.parameters)).toEqual([
      { n: 5, at: "2026-01-05T02:00:00.000Z" },
    ]);
    const runs = await call("GET", `/runs?name=${name}`, alice());
    expect((runs.body as { params: unknown }[]).map((r) => r.params)).toEqual([{ n: 5 }]);
  });

  it.each([
    ["a value not of its type", { n: "many" }, /params\.n: value \\"many\\" is not an int/],
    ["a value not among its choices", { n: 3 }, /params\.n: value 3 is not one of its choices/],
  ])("refuses %s, naming the param, and stores nothing", async (_what, params, expected) => {
    const name = fresh("bad-params");
    const answer = await deploy(alice(), typed(name), { params: JSON.stringify(params) });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(expected);
    expect(await db.collection("schedules").countDocuments({ config: name })).toBe(0);
  });

  it("refuses params that are not a JSON object", async () => {
    const answer = await deploy(alice(), typed(fresh("not-json")), { params: "n=5" });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(/params must be a JSON object, e\.g\. \{\\"n\\": 3\}/);
  });

  it("a dry run answers the schedules it would make with their next times, and stores and removes nothing", async () => {
    const name = fresh("dry-deploy");
    const kept = await deploy(alice(), typed(name, [{ cron: "0 5 * * *" }]));
    expect(kept.status, message(kept.body)).toBe(200);
    const dry = await deploy(
      alice(),
      typed(name, [{ cron: "0 2 * * *", timezone: "Europe/Berlin" }, { cron: "30 3 * * *" }]),
      { dry_run: "true", params: JSON.stringify({ n: 2 }) },
    );
    expect(dry.status, message(dry.body)).toBe(200);
    const body = dry.body as {
      config: string;
      dryRun: boolean;
      schedules: { name: string; cron: string; next: number[]; target: { params?: unknown } }[];
    };
    expect(body).toMatchObject({ config: name, dryRun: true });
    expect(body.schedules.map((x) => [x.name, x.cron, x.target.params])).toEqual([
      [`${name}.on.1`, "0 2 * * *", { n: 2 }],
      [`${name}.on.2`, "30 3 * * *", { n: 2 }],
    ]);
    // 02:00 in Berlin is 01:00 UTC in January.
    expect(body.schedules[0]?.next[0]).toBe(START + HOUR);
    // The earlier deploy is as it was.
    expect((await schedulesOf(alice(), name)).map((x) => x.cron)).toEqual(["0 5 * * *"]);
  });

  it("a dry run is refused as the deploy is: a bad param, another schedule's name", async () => {
    const name = fresh("dry-refused");
    const bad = await deploy(alice(), typed(name), {
      dry_run: "true",
      params: JSON.stringify({ n: "many" }),
    });
    expect(bad.status).toBe(400);
    expect(message(bad.body)).toMatch(/params\.n/);
    const taken = await call("POST", "/schedules", alice(), {
      name: `${name}.on.1`,
      cron: "0 1 * * *",
      target: { works: [{ pipeline: name, command: ["true"], site: "local", user: "alice" }] },
    });
    expect(taken.status, message(taken.body)).toBe(201);
    const clash = await deploy(alice(), typed(name), { dry_run: "true" });
    expect(clash.status).toBe(409);
    expect(message(clash.body)).toMatch(/already have a schedule named/);
    expect(await db.collection("schedules").countDocuments({ config: name })).toBe(0);
  });

  it("a dry run of a config without on: checks the run and starts nothing", async () => {
    const name = fresh("dry-run-config");
    // As CHIME's Python client spells it.
    const dry = await deploy(alice(), config(name), { dry_run: "True" });
    expect(dry.status, message(dry.body)).toBe(200);
    expect(dry.body).toMatchObject({ name, user: "alice", works: 1, dryRun: true });
    expect(await db.collection("runs").countDocuments({ name })).toBe(0);
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
