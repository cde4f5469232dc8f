import type { Db, MongoClient } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { stepOne, yamlConfig } from "../../../test/support/configs.js";
import { testDb } from "../../../test/support/db.js";
import { mintToken, type RunningService, type Scope } from "../src/index.js";
import { aWork, QUIET_REAPER, startTestService } from "./support/service.js";

/**
 * Schedules against the real service and MongoDB, on a clock the test moves: no test waits for a
 * tick. Instances share the database and the clock, as instances of one deployment share MongoDB's.
 */

const HOUR = 3600;
/** Monday 5 January 2026, 00:00 UTC. */
const START = Date.parse("2026-01-05T00:00:00Z") / 1000;

let clock = START;
let mongo: MongoClient;
let db: Db;
const started: RunningService[] = [];

async function instance(label = ""): Promise<RunningService> {
  const env = {
    ...QUIET_REAPER,
    // Ticks stay on time for 60 s. The timer may evaluate too, but on the test's clock, which
    // only the test moves: it can only do what the test's own evaluation would.
    BUCKETS_SCHEDULE_SECONDS: "30",
  };
  const { service } = await startTestService(import.meta.filename, env, label, {
    now: () => clock,
  });
  started.push(service);
  return service;
}

const token = (service: RunningService, user: string, scopes: Scope[], pipelines?: string[]) =>
  mintToken(service.keys, { user, scopes, ...(pipelines ? { pipelines } : {}) });
const alice = (s: RunningService) => token(s, "alice", ["work:deposit", "work:read"]);

async function call(
  service: RunningService,
  method: string,
  path: string,
  bearer: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: answers of many shapes, each checked by the test's assertions
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

let a: RunningService;
let b: RunningService;
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  a = await instance();
  b = await instance();
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.close()));
  await mongo.close();
});
afterEach(() => {
  clock = START;
});

let names = 0;
/** Adds a schedule of alice's, hourly by default, whose target deposits one work to its own pipeline. */
async function add(overrides: Record<string, unknown> = {}, service = a) {
  const pipeline = `sched-${++names}`;
  const added = await call(service, "POST", "/schedules", alice(service), {
    name: pipeline,
    cron: "0 * * * *",
    target: { works: [aWork({ pipeline })] },
    ...overrides,
  });
  expect(added.status, JSON.stringify(added.body)).toBe(201);
  return { id: added.body.id as string, pipeline, added: added.body };
}
const deposited = (pipeline: string) => db.collection("works").countDocuments({ pipeline });
const detail = async (id: string, service = a) =>
  (await call(service, "GET", `/schedules/${id}`, alice(service))).body;

describe("firing", () => {
  it("fires each of 100 ticks exactly once with two instances evaluating together", async () => {
    const { id, pipeline } = await add({ cron: "*/5 * * * *" });
    for (let i = 1; i <= 100; i++) {
      clock = START + i * 300 + 1;
      await Promise.all([a.ticker.evaluate(), b.ticker.evaluate(), a.ticker.evaluate()]);
    }
    expect(await deposited(pipeline)).toBe(100);
    const view = await detail(id);
    expect(view.fired).toBe(100);
    expect(view.ticks).toHaveLength(20);
    // Each tick is linked to the work it deposited.
    const [last] = view.ticks;
    expect(last.tick).toBe(START + 100 * 300);
    const work = await db.collection("works").findOne({ pipeline, received: { $gte: last.tick } });
    expect(last.works).toEqual([work?._id.toHexString()]);
  });

  it("deposits nothing before the first tick, and shows the next five fire times", async () => {
    clock = START + 10;
    const { pipeline, added } = await add({ cron: "0 2 * * *", timezone: "Europe/Berlin" });
    expect(added.next).toEqual(
      [5, 6, 7, 8, 9].map((day) => Date.parse(`2026-01-0${day}T01:00:00Z`) / 1000),
    );
    await a.ticker.evaluate();
    expect(await deposited(pipeline)).toBe(0);
  });

  it.each([
    ["skip", 0],
    ["latest", 1],
    ["all", 3],
  ] as const)(
    "after a downtime of 3 ticks, missed: %s fires %i of them, then goes on",
    async (missed, count) => {
      const { id, pipeline } = await add({ missed });
      // Down from 00:30 to 03:30: the ticks of 01:00, 02:00 and 03:00 passed unseen.
      clock = START + 3.5 * HOUR;
      await a.ticker.evaluate();
      expect(await deposited(pipeline)).toBe(count);
      const ticks = (await detail(id)).ticks.map((t: { tick: number }) => t.tick - START);
      expect(ticks).toEqual([3 * HOUR, 2 * HOUR, HOUR].slice(0, count));
      clock = START + 4 * HOUR + 5;
      await a.ticker.evaluate();
      expect(await deposited(pipeline)).toBe(count + 1);
    },
  );

  it("fires a schedule with 3 lives 3 times, then it is done", async () => {
    const { id, pipeline } = await add({ lives: 3 });
    for (let i = 1; i <= 6; i++) {
      clock = START + i * HOUR + 1;
      await a.ticker.evaluate();
    }
    expect(await deposited(pipeline)).toBe(3);
    const view = await detail(id);
    expect(view).toMatchObject({ done: true, nextRun: null, lives: 0, fired: 3, next: [] });
  });
});

describe("a pipeline target", () => {
  it("starts a run of the config at each tick, linked to the tick by the run's id", async () => {
    const pipeline = `sched-${++names}`;
    const config = yamlConfig(pipeline, stepOne(["echo", "${{ params.word }}"]));
    const added = await call(a, "POST", "/schedules", alice(a), {
      name: pipeline,
      cron: "0 * * * *",
      target: { config, params: { word: "hello" } },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    expect(added.body.pipelines).toEqual([pipeline]);
    for (const hour of [1, 2]) {
      clock = START + hour * HOUR + 1;
      await Promise.all([a.ticker.evaluate(), b.ticker.evaluate()]);
    }
    const { ticks } = await detail(added.body.id);
    expect(ticks).toHaveLength(2);
    const runs = await db.collection("runs").find({ name: pipeline }).toArray();
    expect(runs.map((r) => r._id.toHexString()).sort()).toEqual(
      ticks.map((t: { run: string }) => t.run).sort(),
    );
    const works = await db.collection("works").find({ pipeline }).toArray();
    expect(works.map((w) => w.command)).toEqual([
      ["echo", "hello"],
      ["echo", "hello"],
    ]);
  });
});

// 144 evaluations each: on a loaded machine that outlasts vitest's default 30 s, and a test cut off
// mid-loop would go on moving the shared clock under the next test.
describe("daylight saving time in America/Toronto", { timeout: 180_000 }, () => {
  /** Moves the clock half an hour at a time through `hours` and answers when the schedule fired (UTC). */
  async function firesThrough(cron: string, from: string, hours: number) {
    clock = Date.parse(from) / 1000;
    const { id, pipeline } = await add({ cron, timezone: "America/Toronto" });
    const end = clock + hours * HOUR;
    while (clock < end) {
      clock += 1800;
      await a.ticker.evaluate();
    }
    const ticks = (await detail(id)).ticks.map((t: { tick: number }) =>
      new Date(t.tick * 1000).toISOString(),
    );
    return { ticks: ticks.reverse(), count: await deposited(pipeline) };
  }

  it("fires a tick in the skipped hour once, at the next valid time (spring forward)", async () => {
    // 8 March 2026: 02:00 EST becomes 03:00 EDT, so 02:30 does not exist that day.
    const { ticks, count } = await firesThrough("30 2 * * *", "2026-03-07T00:00:00Z", 72);
    expect(ticks).toEqual([
      "2026-03-07T07:30:00.000Z", // 02:30 EST
      "2026-03-08T07:00:00.000Z", // 03:00 EDT, the first valid time after the gap
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
    ]);
    expect(count).toBe(3);
  });

  it("fires a tick in the repeated hour once (fall back)", async () => {
    // 1 November 2026: 02:00 EDT becomes 01:00 EST, so 01:30 happens twice that night.
    const { ticks, count } = await firesThrough("30 1 * * *", "2026-10-31T00:00:00Z", 72);
    expect(ticks).toEqual([
      "2026-10-31T05:30:00.000Z",
      "2026-11-01T05:30:00.000Z", // 01:30 EDT; not again at 01:30 EST
      "2026-11-02T06:30:00.000Z",
    ]);
    expect(count).toBe(3);
  });
});

describe("lifecycle", () => {
  it("keeps every schedule and its next run time across a restart of every instance", async () => {
    const label = "restart";
    await (await testDb(import.meta.filename, label)).client.close();
    const first = await instance(label);
    const added = [];
    for (const cron of ["0 * * * *", "15 3 * * 1", "*/10 * * * * *"]) {
      added.push((await add({ cron }, first)).added);
    }
    await first.close();
    const second = await instance(label);
    const listed = (await call(second, "GET", "/schedules", alice(second))).body;
    expect(listed.map((s: { id: string; nextRun: number }) => [s.id, s.nextRun]).sort()).toEqual(
      added.map((s) => [s.id, s.nextRun]).sort(),
    );
    clock = START + HOUR + 1;
    await second.ticker.evaluate();
    const own = await testDb(import.meta.filename, label, { drop: false });
    expect(await own.db.collection("works").countDocuments({ pipeline: added[0].name })).toBe(1);
    await own.client.close();
  });

  it("fires nothing while paused; resumed, it fires from the next tick on and skips what passed", async () => {
    const { id, pipeline } = await add();
    const paused = await call(a, "POST", `/schedules/${id}/pause`, alice(a));
    expect(paused.status).toBe(200);
    expect(paused.body.enabled).toBe(false);
    clock = START + 2 * HOUR + 1;
    await a.ticker.evaluate();
    expect(await deposited(pipeline)).toBe(0);
    clock = START + 2.5 * HOUR;
    const resumed = await call(a, "POST", `/schedules/${id}/resume`, alice(a));
    expect(resumed.body).toMatchObject({ enabled: true, nextRun: START + 3 * HOUR });
    clock = START + 3 * HOUR + 1;
    await a.ticker.evaluate();
    expect(await deposited(pipeline)).toBe(1);
  });

  it("removes a schedule and its history", async () => {
    const { id, pipeline } = await add();
    expect((await call(a, "DELETE", `/schedules/${id}`, alice(a))).status).toBe(200);
    clock = START + HOUR + 1;
    await a.ticker.evaluate();
    expect(await deposited(pipeline)).toBe(0);
    expect((await call(a, "GET", `/schedules/${id}`, alice(a))).status).toBe(404);
  });

  it("pauses a stored schedule it can no longer read, and fires the others", async () => {
    const broken = await add();
    const fine = await add();
    // As if the runtime's zone database lost the zone it was added with.
    await db
      .collection("schedules")
      .updateOne({ name: broken.pipeline }, { $set: { timezone: "Mars/Olympus" } });
    clock = START + HOUR + 1;
    await a.ticker.evaluate();
    expect(await deposited(fine.pipeline)).toBe(1);
    const view = await detail(broken.id);
    expect(view.enabled).toBe(false);
    expect(view.pausedReason).toMatch(/could not evaluate it/);
  });

  it("pauses a schedule whose owner's token expired, and says why", async () => {
    const pipeline = `sched-${++names}`;
    // Tokens expire on the real clock: this test's clock starts at the real time.
    clock = Math.floor(Date.now() / 1000);
    const short = mintToken(a.keys, {
      user: "alice",
      scopes: ["work:deposit", "work:read"],
      expiresIn: "1h",
    });
    const added = await call(a, "POST", "/schedules", short, {
      name: pipeline,
      cron: "* * * * *",
      target: { works: [aWork({ pipeline })] },
    });
    expect(added.status).toBe(201);
    // Two hours on, the token is an hour past its expiry when the next minute's tick comes.
    clock = added.body.nextRun + 2 * HOUR;
    await a.ticker.evaluate();
    expect(await deposited(pipeline)).toBe(0);
    const view = await detail(added.body.id);
    expect(view.enabled).toBe(false);
    expect(view.pausedReason).toMatch(/token of "alice" .* expired/);
  });
});

describe("refusals", () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["a cron of 4 fields", { cron: "0 2 * *" }, /5 fields/],
    ["a cron croner cannot read", { cron: "61 * * * *" }, /cron/],
    ["a date that never comes", { cron: "0 0 30 2 *" }, /never/],
    ["an unknown timezone", { timezone: "Mars/Olympus" }, /IANA/],
    ["a work without a user-owned shape", { target: { works: [{ pipeline: "p" }] } }, /works\[0\]/],
    ["another user's works", { target: { works: [aWork({ user: "bob" })] } }, /not as .*bob/],
    ["an invalid pipeline config", { target: { config: "version: 2\nname: x\n" } }, /pipeline/],
    ["works with ids", { target: { works: [aWork({ id: "0123456789abcdef01234567" })] } }, /id/],
  ];
  it.each(bad)("refuses %s when it is added", async (_, overrides, message) => {
    const body = {
      name: `bad-${++names}`,
      cron: "0 * * * *",
      target: { works: [aWork()] },
      ...overrides,
    };
    const refused = await call(a, "POST", "/schedules", alice(a), body);
    expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    expect(JSON.stringify(refused.body)).toMatch(message);
  });

  it("takes a work that names neither a function nor a command: its workers supply one", async () => {
    const added = await call(a, "POST", "/schedules", alice(a), {
      name: `static-${++names}`,
      cron: "0 * * * *",
      target: { works: [aWork({ command: undefined })] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
  });

  it("refuses a second schedule of the same name, but not another user's", async () => {
    const { added } = await add();
    const again = await call(a, "POST", "/schedules", alice(a), {
      name: added.name,
      cron: "0 * * * *",
      target: { works: [aWork()] },
    });
    expect(again.status).toBe(409);
    const bobs = await call(a, "POST", "/schedules", token(a, "bob", ["work:deposit"]), {
      name: added.name,
      cron: "0 * * * *",
      target: { works: [aWork({ user: "bob" })] },
    });
    expect(bobs.status).toBe(201);
  });

  it("prints the next fire times of a dry run and stores nothing", async () => {
    const dry = await call(a, "POST", "/schedules?dry_run=true", alice(a), {
      name: "dry",
      cron: "0 2 * * *",
      target: { works: [aWork()] },
    });
    expect(dry.status).toBe(200);
    expect(dry.body.next).toHaveLength(5);
    const listed = (await call(a, "GET", "/schedules", alice(a))).body;
    expect(listed.map((s: { name: string }) => s.name)).not.toContain("dry");
  });
});

describe("authorization", () => {
  it("keeps a schedule from another user and from a token outside its pipelines: for them it does not exist", async () => {
    const { id, pipeline } = await add();
    const bob = token(a, "bob", ["work:deposit", "work:read"]);
    const elsewhere = token(a, "alice", ["work:deposit", "work:read"], ["elsewhere"]);
    for (const path of [`/schedules/${id}`]) {
      expect((await call(a, "GET", path, bob)).status).toBe(404);
      expect((await call(a, "GET", path, elsewhere)).status).toBe(404);
    }
    for (const action of ["pause", "resume"]) {
      expect((await call(a, "POST", `/schedules/${id}/${action}`, bob)).status).toBe(404);
      expect((await call(a, "POST", `/schedules/${id}/${action}`, elsewhere)).status).toBe(404);
    }
    expect((await call(a, "DELETE", `/schedules/${id}`, bob)).status).toBe(404);
    const bobsList = (await call(a, "GET", "/schedules", bob)).body;
    expect(JSON.stringify(bobsList)).not.toContain(pipeline);
    const elsewhereList = (await call(a, "GET", "/schedules", elsewhere)).body;
    expect(JSON.stringify(elsewhereList)).not.toContain(pipeline);
    const reader = token(a, "alice", ["work:read"]);
    expect((await call(a, "POST", `/schedules/${id}/pause`, reader)).status).toBe(403);
    expect((await call(a, "GET", `/schedules/${id}`, reader)).status).toBe(200);
    expect((await call(a, "GET", `/schedules/${id}`, token(a, "admin", ["admin"]))).status).toBe(
      200,
    );
  });

  it("refuses a target outside the token's pipelines", async () => {
    const limited = token(a, "alice", ["work:deposit"], ["fit"]);
    const refused = await call(a, "POST", "/schedules", limited, {
      name: "outside",
      cron: "0 * * * *",
      target: { works: [aWork({ pipeline: "other" })] },
    });
    expect(refused.status).toBe(403);
  });
});
