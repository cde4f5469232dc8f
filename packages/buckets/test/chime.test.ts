import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";
import { depositWork, viewWork } from "./support/works.js";

/**
 * The answers CHIME's Python client (workflow v1.12) and its audit daemon depend on, one test per
 * semantic of the state-machine issue. Requests are shaped as that client sends them.
 */

type Stored = Record<string, unknown> & {
  id: string;
  status: string;
  attempt: number;
  retryAt?: number;
  leaseUntil?: number;
  start?: number;
};

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

const deposit = (overrides: Record<string, unknown>) => depositWork(t, overrides);
const get = (id: string) => viewWork<Stored>(t, id);
/** CHIME's worker: no ?lease, no heartbeats. */
const withdraw = async (pipeline: string) =>
  (await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline } }))
    .body as Stored;
/** CHIME's worker sends the whole work back, with its status set. */
const reportWhole = (work: Stored, status: string, results: object) =>
  t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ ...work, status, results, stop: Date.now() / 1000 }],
  });
const backdate = (id: string, fields: Record<string, number>) =>
  db.collection("works").updateOne({ _id: new ObjectId(id) }, { $set: fields });

describe("CHIME's semantics", () => {
  it("1. a failure with retries left waits for retryAt; /audit/failed re-queues it at once; the last failure is final", async () => {
    const id = await deposit({ pipeline: "c-retries", retries: 1 });
    const claimed = await withdraw("c-retries");
    expect((await reportWhole(claimed, "failure", { error: "boom" })).status).toBe(200);
    const failed = await get(id);
    expect(failed.status).toBe("failure");
    expect(failed.retryAt).toBeGreaterThanOrEqual((failed.stop as number) + 0.8);

    // The audit does not wait for retryAt.
    expect((await t.call("GET", "/audit/failed")).body).toBe(1);
    expect(await get(id)).toMatchObject({ status: "queued" });
    expect((await t.call("GET", "/audit/failed")).body).toBe(0);

    const second = await withdraw("c-retries");
    expect(second.attempt).toBe(2);
    await reportWhole(second, "failure", { error: "boom again" });
    const final = await get(id);
    expect(final).toMatchObject({ status: "failure", attempt: 2 });
    expect(final).not.toHaveProperty("retryAt");
    expect((await t.call("GET", "/audit/failed")).body).toBe(0);
    expect(await get(id)).toMatchObject({ status: "failure" });
  });

  it("2. the audits answer plain numbers, and ?details=true the parts", async () => {
    const expired = await deposit({ pipeline: "c-audits", timeout: 10 });
    await withdraw("c-audits");
    await backdate(expired, { start: Date.now() / 1000 - 11 });
    const stale = await deposit({ pipeline: "c-audits", creation: Date.now() / 1000 - 8 * 86_400 });

    const answers = {
      failed: (await t.call("GET", "/audit/failed")).body,
      expired: (await t.call("GET", "/audit/expired")).body,
      stale: (await t.call("GET", "/audit/stale/7.0")).body,
    };
    // The expired work had retries left: it became a failure, which the next failed audit re-queues.
    expect(answers).toEqual({ failed: 0, expired: 1, stale: 1 });
    expect(await get(expired)).toMatchObject({ status: "failure" });
    expect(await get(stale)).toMatchObject({ status: "failure" });
    expect((await t.call("GET", "/audit/failed?details=true")).body).toEqual({
      total: 1,
      requeued: 1,
    });
    expect((await t.call("GET", "/audit/stale/7?details=true")).body).toEqual({
      total: 0,
      failed: 0,
    });
  });

  it("3. an admin's PUT of start or timeout moves a running work's deadline with it", async () => {
    const id = await deposit({ pipeline: "c-deadline", timeout: 3600, retries: 0 });
    const claimed = await withdraw("c-deadline");
    expect(claimed.leaseUntil).toBe((claimed.start as number) + 3600 + 30);

    const start = Date.now() / 1000 - 100;
    const moved = await t.call("PUT", "/work", { body: [{ ...claimed, start, timeout: 60 }] });
    expect(moved.status).toBe(200);
    const after = await get(id);
    expect(after).toMatchObject({ status: "running", start, timeout: 60 });
    expect(after.leaseUntil).toBe(start + 60 + 30);
    expect((await t.call("GET", "/audit/expired")).body).toBe(1);
    expect(await get(id)).toMatchObject({ status: "failure" });
  });

  it("3b. an admin backdates a withdrawn work's creation, as CHIME's stale audit test does; nobody else may", async () => {
    const id = await deposit({ pipeline: "c-backdate" });
    const claimed = await withdraw("c-backdate");
    const creation = Date.now() / 1000 - 60 * 86_400;
    const refused = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ ...claimed, creation }],
    });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('field \\"creation\\"');
    const backdated = await t.call("PUT", "/work", { body: [{ ...claimed, creation }] });
    expect(backdated.status).toBe(200);
    expect(await get(id)).toMatchObject({ status: "running", creation });
    expect((await t.call("GET", "/audit/stale/30")).body).toBe(1);
    expect(await get(id)).toMatchObject({ status: "failure" });
  });

  it("4. return_ids may be repeated, in any case", async () => {
    for (const query of [
      "?return_ids=True&return_ids=True",
      "?return_ids=TRUE",
      "?return_ids=false&return_ids=true",
    ]) {
      const answer = await t.call("POST", `/work${query}`, {
        token: t.tokens.alice,
        body: [aWork({ pipeline: "c-ids" })],
      });
      expect(answer.status).toBe(200);
      expect(answer.body, query).toEqual([expect.stringMatching(/^[0-9a-f]{24}$/)]);
    }
    const plain = await t.call("POST", "/work?return_ids=False", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "c-ids" })],
    });
    expect(plain.body).toBe(true);
  });

  it("5. any function name up to 1,024 characters is taken at deposit; only a worker decides", async () => {
    for (const name of [
      "workflow.examples.function.math",
      "fit",
      "./jobs/fit.js#fit",
      "x".repeat(1024),
    ]) {
      const answer = await t.call("POST", "/work", {
        token: t.tokens.alice,
        body: [aWork({ pipeline: "c-function", command: undefined, function: name })],
      });
      expect(answer.status, name.slice(0, 40)).toBe(200);
    }
    const long = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "c-function", command: undefined, function: "x".repeat(1025) })],
    });
    expect(long.status).toBe(400);
  });

  it("6. /status/details answers exactly total, queued, running, success, failure, in that order", async () => {
    await deposit({ pipeline: "c-details" });
    const cancelled = await deposit({ pipeline: "c-details" });
    await t.call("POST", `/work/${cancelled}/cancel`, { token: t.tokens.alice });
    const details = await t.call("GET", "/status/details/c-details");
    expect(Object.keys(details.body as object)).toEqual([
      "total",
      "queued",
      "running",
      "success",
      "failure",
    ]);
    expect(details.body).toEqual({ total: 2, queued: 1, running: 0, success: 0, failure: 0 });
    const all = (await t.call("GET", "/status/details/c-details?all=true")).body;
    expect(all).toMatchObject({ total: 2, queued: 1, cancelled: 1, waiting: 0, skipped: 0 });
  });

  it("7. view projections: {id: true, _id: false} answers only ids; others include or exclude any field", async () => {
    const ids = [await deposit({ pipeline: "c-view" }), await deposit({ pipeline: "c-view" })];
    const view = async (projection: object) =>
      (
        await t.call("POST", "/view", {
          body: { query: { pipeline: "c-view" }, projection, skip: 0, limit: 100 },
        })
      ).body as Record<string, unknown>[];
    expect(await view({ id: true, _id: false })).toEqual(ids.map((id) => ({ id })));
    expect(await view({ pipeline: true, _id: false })).toEqual(
      ids.map(() => ({ pipeline: "c-view" })),
    );
    expect(await view({ priority: 1, id: 1 })).toEqual(ids.map((id) => ({ id, priority: 3 })));
    const without = await view({ id: false, config: false, _id: false });
    expect(without).toHaveLength(2);
    for (const work of without) {
      expect(work).not.toHaveProperty("id");
      expect(work).not.toHaveProperty("config");
      expect(work).toMatchObject({ pipeline: "c-view", status: "queued" });
    }
  });

  it("8. a worker that never heartbeats keeps its work until start + timeout + grace", async () => {
    const id = await deposit({ pipeline: "c-hold", timeout: 600 });
    const claimed = await withdraw("c-hold");
    expect(claimed).toMatchObject({ id, status: "running" });
    expect(claimed.leaseUntil).toBe((claimed.start as number) + 600 + 30);
    // Far past any lease the service would give: nothing takes the work away.
    await t.call("GET", "/audit/expired");
    expect(await withdraw("c-hold")).toBeNull();
    const held = await get(id);
    expect(held, JSON.stringify(held)).toMatchObject({ status: "running", attempt: 1 });
    expect((await reportWhole(claimed, "success", { ok: true })).status).toBe(200);
  });
});
