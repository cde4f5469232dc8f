import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/** What the dashboard reads and does beyond the CLI's routes: its files, the last hour, bulk actions. */

const { t } = useTestService(import.meta.filename, QUIET_REAPER, { emptied: true });

async function deposit(
  works: Record<string, unknown>[],
  token = t.tokens.alice,
): Promise<string[]> {
  const answer = await t.call("POST", "/work?return_ids=true", { token, body: works });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as string[];
}

/** Claims the next work of `pipeline` as worker-1 and reports `status` for it. */
async function runOne(pipeline: string, status: "success" | "failure"): Promise<string> {
  const got = await t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
    headers: { "x-worker-id": "node-7 pid 42" },
  });
  const work = got.body as { id: string; attempt: number };
  const answer = await t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id: work.id, attempt: work.attempt, status }],
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return work.id;
}

const statuses = async (ids: string[]) => {
  const seen = (
    await t.call("POST", "/view", {
      body: { query: { id: { $in: ids } }, projection: { status: 1 } },
    })
  ).body as { id: string; status: string }[];
  return Object.fromEntries(seen.map((w) => [w.id, w.status]));
};

/** Every stage of a plan, flattened. */
function stages(plan: Document): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    const n = node as Record<string, unknown>;
    if (typeof n.stage === "string") out.push(n.indexName ? `${n.stage}:${n.indexName}` : n.stage);
    for (const value of Object.values(n)) {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value && typeof value === "object") walk(value);
    }
  };
  walk(plan);
  return out;
}

describe("the dashboard's files", () => {
  it("GET / leads to /ui, which serves the page and its bundle without a token; /docs too", async () => {
    const root = await fetch(`${t.url}/`, { redirect: "manual" });
    expect(root.status).toBe(302);
    expect(root.headers.get("location")).toBe("/ui");
    const page = await fetch(`${t.url}/ui`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/ui/app.js">');
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const bundle = await fetch(`${t.url}/ui/app.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${t.url}/ui/uPlot.min.css`)).status).toBe(200);
    const docs = await fetch(`${t.url}/docs`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain("/ui/docs.js");
  });

  it("a file the dashboard does not have is a 404, not a login", async () => {
    const missing = await t.call("GET", "/ui/nope.js", { token: null });
    expect(missing.status).toBe(404);
    const outside = await t.call("GET", "/ui/..%2f..%2fpackage.json", { token: null });
    expect([400, 403, 404]).toContain(outside.status);
  });
});

describe("the overview's data", () => {
  it("counts pipelines x statuses within the token's pipelines", async () => {
    await deposit([
      aWork({ pipeline: "ov-a" }),
      aWork({ pipeline: "ov-a" }),
      aWork({ pipeline: "ov-b" }),
    ]);
    await runOne("ov-a", "success");
    const table = (await t.call("GET", "/activity/counts")).body as {
      pipeline: string;
      counts: Record<string, number>;
    }[];
    const a = table.find((r) => r.pipeline === "ov-a");
    expect(a?.counts).toMatchObject({ total: 2, queued: 1, success: 1, running: 0 });
    const limited = (
      await t.call("GET", "/activity/counts", {
        token: t.token("carol", ["work:read"], ["ov-b"]),
      })
    ).body as { pipeline: string }[];
    expect(limited.map((r) => r.pipeline)).toEqual(["ov-b"]);
  });

  it("charts the works that ended per minute over the last hour, and names the workers seen", async () => {
    await deposit([
      aWork({ pipeline: "hour" }),
      aWork({ pipeline: "hour" }),
      aWork({ pipeline: "hour" }),
    ]);
    await runOne("hour", "success");
    await runOne("hour", "success");
    await runOne("hour", "failure");
    const hour = (await t.call("GET", "/activity/minutes")).body as {
      minutes: number[];
      success: number[];
      failure: number[];
    };
    expect(hour.minutes).toHaveLength(60);
    expect(Number(hour.minutes[1]) - Number(hour.minutes[0])).toBe(60);
    expect(hour.success.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    expect(hour.failure.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    // The current minute, or the one before if the minute turned meanwhile.
    expect(Number(hour.success.at(-1)) + Number(hour.success.at(-2))).toBeGreaterThanOrEqual(2);
    const workers = (await t.call("GET", "/activity/workers")).body as {
      worker: string;
      pipelines: string[];
    }[];
    expect(workers.find((w) => w.worker === "node-7 pid 42")?.pipelines).toContain("hour");
    const elsewhere = await t.call("GET", "/activity/minutes", {
      token: t.token("carol", ["work:read"], ["nothing-here"]),
    });
    const quiet = elsewhere.body as { success: number[]; failure: number[] };
    expect([...quiet.success, ...quiet.failure].every((n) => n === 0)).toBe(true);
  });

  it("reads the last hour from the stop index alone (covered: no work is fetched)", async () => {
    const since = Math.floor(Date.now() / 1000) - 3600;
    const plan = await t.service.ctx.store.activity.explainMinutes(since);
    const seen = stages(plan);
    expect(seen).toContain("IXSCAN:stop_status_pipeline");
    expect(seen).not.toContain("FETCH");
    expect(seen).not.toContain("COLLSCAN");
    const workers = stages(await t.service.ctx.store.activity.explainSightings(since, 2000));
    expect(workers).toContain("IXSCAN:stop_status_pipeline");
    expect(workers).not.toContain("COLLSCAN");
  });
});

describe("bulk actions (POST /work/bulk)", () => {
  it("cancels the works a query matches, once the caller confirmed how many", async () => {
    const ids = await deposit(
      [1, 2, 3].map((n) => aWork({ pipeline: "bulk-c", parameters: { n } })),
    );
    const query = { pipeline: "bulk-c", "parameters.n": { $gte: 2 } };
    const count = (await t.call("POST", "/view/count", { token: t.tokens.alice, body: { query } }))
      .body;
    expect(count).toBe(2);
    const done = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query, action: "cancel", confirmed: 2 },
    });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toEqual({ matched: 2, done: 2, refused: 0, reasons: [] });
    expect(await statuses(ids)).toEqual({
      [String(ids[0])]: "queued",
      [String(ids[1])]: "cancelled",
      [String(ids[2])]: "cancelled",
    });
  });

  it("retries failures (back to the queue) and deletes, as PUT /work and DELETE /work would", async () => {
    await deposit([aWork({ pipeline: "bulk-r" }), aWork({ pipeline: "bulk-r" })]);
    const failed = [await runOne("bulk-r", "failure"), await runOne("bulk-r", "failure")];
    const retried = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline: "bulk-r", status: "failure" }, action: "retry", confirmed: 2 },
    });
    expect(retried.body).toMatchObject({ matched: 2, done: 2, refused: 0 });
    expect(Object.values(await statuses(failed))).toEqual(["queued", "queued"]);
    const deleted = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline: "bulk-r" }, action: "delete", confirmed: 2 },
    });
    expect(deleted.body).toMatchObject({ matched: 2, done: 2, refused: 0 });
    expect(await statuses(failed)).toEqual({});
  });

  it("refuses another user's works one by one, and does the caller's own", async () => {
    const alices = await deposit([aWork({ pipeline: "bulk-o" })]);
    const bobs = await deposit([aWork({ pipeline: "bulk-o", user: "bob" })], t.tokens.bob);
    const done = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline: "bulk-o" }, action: "cancel", confirmed: 2 },
    });
    const body = done.body as {
      done: number;
      refused: number;
      reasons: { id: string; message: string }[];
    };
    expect(body).toMatchObject({ done: 1, refused: 1 });
    expect(body.reasons[0]?.id).toBe(bobs[0]);
    expect(body.reasons[0]?.message).toContain('belongs to user "bob"');
    expect(await statuses([...alices, ...bobs])).toEqual({
      [String(alices[0])]: "cancelled",
      [String(bobs[0])]: "queued",
    });
  });

  it("does nothing when more works match than were confirmed, or for a read-only token", async () => {
    const ids = await deposit([aWork({ pipeline: "bulk-n" }), aWork({ pipeline: "bulk-n" })]);
    const more = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline: "bulk-n" }, action: "cancel", confirmed: 1 },
    });
    expect(more.status).toBe(409);
    expect(JSON.stringify(more.body)).toContain("2 works match now, more than the 1 confirmed");
    const reader = await t.call("POST", "/work/bulk", {
      token: t.token("rita", ["work:read"]),
      body: { query: { pipeline: "bulk-n" }, action: "cancel", confirmed: 2 },
    });
    expect(reader.status).toBe(403);
    expect(Object.values(await statuses(ids))).toEqual(["queued", "queued"]);
  });

  it("refuses hostile or malformed requests with a 4xx, never a 500", async () => {
    for (const body of [
      {},
      { query: {}, action: "explode", confirmed: 1 },
      { query: { $where: "1" }, action: "cancel", confirmed: 1 },
      { query: { pipeline: "x" }, action: "cancel", confirmed: -1 },
      // Any count may be confirmed now (an action goes page by page), but only as a safe integer.
      { query: { pipeline: "x" }, action: "cancel", confirmed: 2 ** 60 },
      { query: { pipeline: "x" }, action: "cancel", confirmed: 1.5 },
      "nope",
    ]) {
      const answer = await t.call("POST", "/work/bulk", { token: t.tokens.alice, body });
      expect(answer.status, JSON.stringify(body)).toBeGreaterThanOrEqual(400);
      expect(answer.status, JSON.stringify(body)).toBeLessThan(500);
    }
  });
});
