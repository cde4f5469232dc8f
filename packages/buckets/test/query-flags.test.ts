import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * Every yes/no query parameter reads the same: true, false, 1 or 0 in any case (CHIME's Python
 * client sends `True`), absent is no, and anything else is a 400 that names the parameter.
 */

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
});
afterAll(async () => {
  await t.close();
});

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;
const runConfig = (name: string) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  pipeline: { steps: [{ name: "one", work: { command: ["true"] } }] },
});
const schedule = (name: string) => ({
  name,
  cron: "0 * * * *",
  target: { works: [aWork({ pipeline: name })] },
});
const runsOf = async (name: string) =>
  ((await t.call("GET", `/runs?name=${name}`, { token: t.tokens.alice })).body as unknown[]).length;

describe("yes/no query parameters", () => {
  it.each(["True", "TRUE", "true", "1"])(
    "?dry_run=%s checks a run and stores nothing",
    async (yes) => {
      const name = fresh("dry");
      const answer = await t.call("POST", `/runs?dry_run=${yes}`, {
        token: t.tokens.alice,
        body: { config: runConfig(name) },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(await runsOf(name)).toBe(0);
    },
  );

  it.each(["False", "0"])("?dry_run=%s starts the run", async (no) => {
    const name = fresh("wet");
    const answer = await t.call("POST", `/runs?dry_run=${no}`, {
      token: t.tokens.alice,
      body: { config: runConfig(name) },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await runsOf(name)).toBe(1);
  });

  it("?dry_run=True checks a schedule and stores none (it once stored it)", async () => {
    const name = fresh("sched");
    const answer = await t.call("POST", "/schedules?dry_run=True", {
      token: t.tokens.alice,
      body: schedule(name),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const listed = (await t.call("GET", "/schedules", { token: t.tokens.alice })).body as {
      name: string;
    }[];
    expect(listed.map((s) => s.name)).not.toContain(name);
  });

  it("?return_ids=True answers the ids, ?return_ids=0 only true", async () => {
    const yes = await t.call("POST", "/work?return_ids=True", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: fresh("ids") })],
    });
    expect(yes.status).toBe(200);
    expect(yes.body).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    const no = await t.call("POST", "/work?return_ids=0", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: fresh("ids") })],
    });
    expect(no.body).toBe(true);
  });

  it("?details=1 answers an audit's parts, without it the total", async () => {
    const parts = await t.call("GET", "/audit/failed?details=1");
    expect(parts.body).toEqual(expect.objectContaining({ total: expect.any(Number) }));
    const total = await t.call("GET", "/audit/failed");
    expect(typeof total.body).toBe("number");
  });

  it.each([
    ["POST", "/runs?dry_run=yes", "dry_run"],
    ["POST", "/schedules?dry_run=maybe", "dry_run"],
    ["POST", "/work?return_ids=yes", "return_ids"],
    ["GET", "/audit/failed?details=on", "details"],
    ["GET", "/status/details/any?all=2", "all"],
  ])("%s %s is refused, naming the parameter", async (method, path, name) => {
    const answer = await t.call(method, path, {
      ...(method === "POST" ? { body: path.startsWith("/work") ? [aWork()] : {} } : {}),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(JSON.stringify(answer.body)).toContain(`${name}: must be true, false, 1 or 0`);
  });

  it("a refused ?return_ids stores nothing", async () => {
    const pipeline = fresh("refused");
    await t.call("POST", "/work?return_ids=yes", {
      token: t.tokens.alice,
      body: [aWork({ pipeline })],
    });
    const listed = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { query: { pipeline }, projection: { _id: 1 } },
    });
    expect(listed.body).toEqual([]);
  });
});
