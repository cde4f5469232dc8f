import { describe, expect, it } from "vitest";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/**
 * A token that may deposit but not read (no work:read) learns nothing of other users' works, runs
 * or schedules: not their parameters, not how many match a query, not even that an id exists.
 * Their owners, whatever their token, are answered as before.
 */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

const eve = () => t.token("eve", ["work:deposit"]);

async function deposit(works: Record<string, unknown>[], token: string): Promise<string[]> {
  const answer = await t.call("POST", "/work?return_ids=true", { token, body: works });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as string[];
}

const config = (name: string, user: string) =>
  [
    'version: "2"',
    `name: ${name}`,
    `defaults: {user: ${user}, site: local}`,
    "pipeline:",
    "  steps:",
    "    - name: one",
    "      stage: 1",
    '      work: {command: ["true"], parameters: {secret: 41}}',
  ].join("\n");

async function startRun(name: string, user: string, token: string): Promise<string> {
  const started = await t.call("POST", "/runs", { token, body: { config: config(name, user) } });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return (started.body as { id: string }).id;
}

/** An id no work, run or schedule has. */
const UNKNOWN = "0123456789abcdef01234567";

/** The answer with the asked-for id blanked, to compare a foreign id's with an unknown one's. */
const shape = (answer: { status: number; body: unknown }, id: string) => ({
  status: answer.status,
  body: JSON.stringify(answer.body).replaceAll(id, "<id>"),
});

describe("a deposit-only token and other users' works", () => {
  it("POST /work/bulk is no oracle: a true and a false guess at bob's parameter answer alike", async () => {
    await deposit(
      [aWork({ pipeline: "oracle", user: "bob", parameters: { secret: 41 } })],
      t.tokens.bob,
    );
    const guess = async (below: number) =>
      t.call("POST", "/work/bulk", {
        token: eve(),
        body: { query: { "parameters.secret": { $lt: below } }, action: "cancel", confirmed: 0 },
      });
    const right = await guess(42);
    const wrong = await guess(41);
    expect(right.status, JSON.stringify(right.body)).toBe(200);
    expect(right.body).toEqual({ matched: 0, done: 0, refused: 0, reasons: [] });
    expect(right.body).toEqual(wrong.body);
    // Bob's own bulk action still sees and counts his works.
    const bobs = await t.call("POST", "/work/bulk", {
      token: t.tokens.bob,
      body: { query: { "parameters.secret": { $lt: 42 } }, action: "cancel", confirmed: 0 },
    });
    expect(bobs.status).toBe(409);
    expect(JSON.stringify(bobs.body)).toContain("1 works match now");
  });

  it("bulk actions of a deposit-only token act on its own works only", async () => {
    const own = await deposit([aWork({ pipeline: "mixed", user: "eve" })], eve());
    const bobs = await deposit([aWork({ pipeline: "mixed", user: "bob" })], t.tokens.bob);
    const done = await t.call("POST", "/work/bulk", {
      token: eve(),
      body: { query: { pipeline: "mixed" }, action: "cancel", confirmed: 1 },
    });
    expect(done.body).toEqual({ matched: 1, done: 1, refused: 0, reasons: [] });
    const seen = await t.call("POST", "/view", {
      body: { query: { pipeline: "mixed" }, projection: { status: true } },
    });
    expect(seen.body).toEqual([
      { id: own[0], status: "cancelled" },
      { id: bobs[0], status: "queued" },
    ]);
  });

  it("a foreign work's id is answered as an unknown one: cancel, change, logs, delete", async () => {
    const [id] = (await deposit([aWork({ pipeline: "foreign", user: "bob" })], t.tokens.bob)) as [
      string,
    ];
    const ask = async (
      method: string,
      path: (id: string) => string,
      body?: (id: string) => unknown,
    ) => {
      const send = (of: string) =>
        t.call(method, path(of), { token: eve(), ...(body ? { body: body(of) } : {}) });
      expect(shape(await send(id), id)).toEqual(shape(await send(UNKNOWN), UNKNOWN));
      return send(id);
    };
    expect((await ask("POST", (i) => `/work/${i}/cancel`)).status).toBe(404);
    expect(
      (
        await ask(
          "PUT",
          () => "/work",
          (i) => [{ id: i, priority: 9 }],
        )
      ).status,
    ).toBe(404);
    expect((await ask("GET", (i) => `/work/${i}`)).status).toBe(404);
    expect((await ask("GET", (i) => `/work/${i}/logs`)).status).toBe(404);
    expect((await ask("DELETE", (i) => `/work?ids=${i}`)).status).toBe(200);
    const kept = await t.call("GET", `/work/${id}`, { token: t.tokens.bob });
    expect(kept.body).toMatchObject({ id, status: "queued", priority: 3 });
  });

  it("a deposit whose id another user's work has says only that the id is taken, as for one's own", async () => {
    const [bobs] = (await deposit(
      [aWork({ pipeline: "bob-private", user: "bob", parameters: { secret: 41 } })],
      t.tokens.bob,
    )) as [string];
    const [evesOwn] = (await deposit([aWork({ pipeline: "eve", user: "eve" })], eve())) as [string];
    const reuse = (id: string) =>
      t.call("POST", "/work", {
        token: eve(),
        body: [aWork({ id, pipeline: "eve", user: "eve", priority: 5 })],
      });
    const foreign = await reuse(bobs);
    const own = await reuse(evesOwn);
    expect(foreign.status).toBe(409);
    expect(shape(foreign, bobs)).toEqual(shape(own, evesOwn));
    expect(JSON.stringify(foreign.body)).not.toMatch(/bob|private|secret/);
  });
});

describe("a deposit-only token and other users' runs", () => {
  it("GET /runs/:id answers 404 as for an unknown id; the owner reads it with the same scope", async () => {
    const run = await startRun("bobs-run", "bob", t.tokens.bob);
    const foreign = await t.call("GET", `/runs/${run}`, { token: eve() });
    const unknown = await t.call("GET", `/runs/${UNKNOWN}`, { token: eve() });
    expect(shape(foreign, run)).toEqual(shape(unknown, UNKNOWN));
    expect(foreign.status).toBe(404);
    for (const [method, path, body] of [
      ["POST", (id: string) => `/runs/${id}/cancel`, undefined],
      ["POST", (id: string) => `/runs/${id}/rerun`, () => ({})],
      ["POST", () => "/configs/retry", (id: string) => ({ id })],
      ["PUT", (id: string) => `/configs/cancel?query=${encodeURIComponent(`{"id":"${id}"}`)}`],
    ] as const) {
      const send = (id: string) =>
        t.call(method, path(id), { token: eve(), ...(body ? { body: body(id) } : {}) });
      const [a, b] = [await send(run), await send(UNKNOWN)];
      expect(shape(a, run), path(run)).toEqual(shape(b, UNKNOWN));
      expect(a.status).toBe(404);
    }
    const own = await t.call("GET", `/runs/${run}`, { token: t.token("bob", ["work:deposit"]) });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ id: run, user: "bob" });
  });

  it("GET /runs, /configs and /configs/count list and count only the caller's own", async () => {
    const bobs = await startRun("listed-bob", "bob", t.tokens.bob);
    const eves = await startRun("listed-eve", "eve", eve());
    const ids = (body: unknown) => (body as { id: string }[]).map((r) => r.id);
    const runs = await t.call("GET", "/runs", { token: eve() });
    expect(ids(runs.body)).toEqual([eves]);
    expect((await t.call("GET", "/runs?user=bob", { token: eve() })).body).toEqual([]);
    const configs = await t.call("GET", "/configs", { token: eve() });
    expect(ids(configs.body)).toEqual([eves]);
    expect(JSON.stringify(configs.body)).not.toContain("listed-bob");
    const byId = encodeURIComponent(JSON.stringify({ id: bobs }));
    expect((await t.call("GET", `/configs?query=${byId}`, { token: eve() })).body).toEqual([]);
    expect((await t.call("GET", "/configs/count", { token: eve() })).body).toEqual({ configs: 1 });
    // A reader (CHIME's tokens have read, deposit and withdraw) still sees everyone's.
    const chime = t.token("carol", ["work:deposit", "work:read", "work:withdraw"]);
    expect(ids((await t.call("GET", "/configs", { token: chime })).body)).toEqual(
      expect.arrayContaining([bobs, eves]),
    );
  });
});
