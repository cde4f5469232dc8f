import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testServiceEnv } from "../../../test/support/service-env.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";

/**
 * CHIME's schedules API as its client v1.12 calls it (workflow/http/schedules.py): deploy a config
 * with a `schedule` section, list it by name with CHIME's projection, show it by id with its
 * history, count per name, and remove it. The service's clock is the test's.
 */

const START = Date.parse("2026-01-05T00:00:00Z") / 1000;
let clock = START;
let service: RunningService;
let alice: string;
let bob: string;

beforeAll(async () => {
  const options = readOptions(
    testServiceEnv(import.meta.filename, "", {
      BUCKETS_SCHEDULE_SECONDS: "3600",
    }),
  );
  service = await startService(options, { now: () => clock });
  alice = mintToken(service.keys, { user: "alice", scopes: ["work:deposit", "work:read"] });
  bob = mintToken(service.keys, { user: "bob", scopes: ["work:deposit", "work:read"] });
});
afterAll(() => service?.close());

/** As CHIME's client sends it: JSON text in `query` and `projection`. */
async function chime(
  method: string,
  params: Record<string, unknown> | null,
  options: { body?: unknown; token?: string; path?: string } = {},
  // biome-ignore lint/suspicious/noExplicitAny: CHIME's answers, each checked by the assertions
): Promise<{ status: number; body: any }> {
  const query = params
    ? `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, JSON.stringify(v)]))}`
    : "";
  const response = await fetch(`${service.url}/v2/schedule${options.path ?? ""}${query}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token ?? alice}`,
      "content-type": "application/json",
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  return { status: response.status, body: await response.json() };
}

/** A CHIME config v2 with a schedule section, as `workflow schedules deploy FILE` reads it. */
const nightly = (name: string, schedule: Record<string, unknown>) => ({
  version: "2",
  name,
  defaults: { user: "alice", site: "local" },
  schedule,
  pipeline: {
    steps: [{ name: "fit", stage: 1, work: { command: ["python", "fit.py"] } }],
  },
});

describe("CHIME's schedules API", () => {
  it("deploys, lists by name with CHIME's projection, shows the history, counts and removes", async () => {
    const deployed = await chime("POST", null, {
      body: nightly("chime-nightly", { cronspec: "0 2 * * *", count: 2 }),
    });
    expect(deployed.status, JSON.stringify(deployed.body)).toBe(201);
    const [id] = deployed.body as string[];
    expect(id).toMatch(/^[0-9a-f]{24}$/);

    // `workflow schedules ls --name`: the fields its table reads, and only those (and id).
    const listed = await chime("GET", {
      query: { "config.name": "chime-nightly" },
      projection: {
        id: true,
        status: true,
        lives: true,
        has_spawned: true,
        next_time: true,
        crontab: true,
        "config.name": true,
      },
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([
      {
        id,
        status: "active",
        lives: 2,
        has_spawned: 0,
        next_time: "2026-01-05T02:00:00.000Z",
        crontab: "0 2 * * *",
        config: expect.objectContaining({ name: "chime-nightly", version: "2" }),
      },
    ]);

    // Two nights: count 2 means two runs, then the schedule has expired.
    for (const night of ["2026-01-05T02:00:01Z", "2026-01-06T02:00:01Z"]) {
      clock = Date.parse(night) / 1000;
      expect(await service.ticker.evaluate()).toBe(1);
    }
    const shown = await chime("GET", { query: { id } });
    expect(shown.status).toBe(200);
    const [schedule] = shown.body;
    expect(schedule).toMatchObject({ id, status: "expired", has_spawned: 2, next_time: null });
    // `ps` reads each history entry as [ISO time, id]; the ids are the runs each night started.
    expect(schedule.history).toHaveLength(2);
    for (const [when, run] of schedule.history) {
      expect(Number.isNaN(Date.parse(when))).toBe(false);
      const started = await fetch(`${service.url}/runs/${run}`, {
        headers: { authorization: `Bearer ${alice}` },
      });
      expect(started.status).toBe(200);
    }

    expect((await chime("GET", null, { path: "/count" })).body).toEqual({ "chime-nightly": 1 });
    // Another user's schedule does not exist for them (as an unknown id), and CHIME's CLI prints
    // `message`.
    const refused = await chime("DELETE", { query: { id } }, { token: bob });
    expect(refused.status).toBe(404);
    expect(refused.body.message).toBe(`no schedule with id ${id}`);
    expect((await chime("DELETE", { query: { id } })).status).toBe(200);
    expect((await chime("GET", { query: { "config.name": "chime-nightly" } })).body).toEqual([]);
  });

  it("a schedule with neither count nor lives fires for ever; lives: N fires N times", async () => {
    const forever = await chime("POST", null, {
      body: nightly("chime-forever", { cronspec: "30 4 * * 0" }),
    });
    const limited = await chime("POST", null, {
      body: nightly("chime-three", { cronspec: "30 4 * * 0", lives: 3 }),
    });
    const lives = async (id: string) => (await chime("GET", { query: { id } })).body[0].lives;
    expect(await lives(forever.body[0])).toBe(-1);
    expect(await lives(limited.body[0])).toBe(3);
  });

  it("refuses what it cannot take with a message CHIME's CLI prints", async () => {
    const cases: [string, Record<string, unknown> | null, unknown, RegExp][] = [
      ["POST", null, { name: "x", pipeline: {} }, /schedule/],
      ["POST", null, nightly("bad-cron", { cronspec: "every night" }), /cron/],
      ["POST", null, nightly("bad key", { cronspec: "0 2 * * *", every: 2 }), /every/],
      ["GET", { query: { status: "active" } }, undefined, /"status" is not understood/],
      ["GET", { query: { id: "nope" } }, undefined, /id/],
      ["DELETE", { query: {} }, undefined, /name the schedule/],
    ];
    for (const [method, params, body, message] of cases) {
      const answer = await chime(method, params, body === undefined ? {} : { body });
      expect(answer.status, JSON.stringify(answer.body)).toBe(400);
      expect(answer.body.message).toMatch(message);
    }
    const raw = await fetch(`${service.url}/v2/schedule?query=%7Bnot-json`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(raw.status).toBe(400);
  });
});
