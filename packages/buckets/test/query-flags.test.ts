import { describe, expect, it } from "vitest";
import { runCalls, runConfig } from "./support/runs.js";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/**
 * Every yes/no query parameter reads the same: true, false, 1 or 0 in any case (CHIME's Python
 * client sends `True`), absent is no, and anything else is a 400 that names the parameter.
 */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);
const { post } = runCalls(t);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;
const oneStep = (name: string) => runConfig(name, [{ name: "one", work: { command: ["true"] } }]);
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
      const answer = await post(`/runs?dry_run=${yes}`, { config: oneStep(name) });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(await runsOf(name)).toBe(0);
    },
  );

  it.each(["False", "0"])("?dry_run=%s starts the run", async (no) => {
    const name = fresh("wet");
    const answer = await post(`/runs?dry_run=${no}`, { config: oneStep(name) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await runsOf(name)).toBe(1);
  });

  it("?dry_run=True checks a schedule and stores none (it once stored it)", async () => {
    const name = fresh("sched");
    const answer = await post("/schedules?dry_run=True", schedule(name));
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const listed = (await t.call("GET", "/schedules", { token: t.tokens.alice })).body as {
      name: string;
    }[];
    expect(listed.map((s) => s.name)).not.toContain(name);
  });

  it("?return_ids=True answers the ids, ?return_ids=0 only true", async () => {
    const yes = await post("/work?return_ids=True", [aWork({ pipeline: fresh("ids") })]);
    expect(yes.status).toBe(200);
    expect(yes.body).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    const no = await post("/work?return_ids=0", [aWork({ pipeline: fresh("ids") })]);
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
    expect((await post("/work?return_ids=yes", [aWork({ pipeline })])).status).toBe(400);
    const listed = await post("/view", { query: { pipeline }, projection: { _id: 1 } });
    expect(listed.body).toEqual([]);
  });
});
