import type { Db, MongoClient } from "mongodb";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

type Stored = {
  id: string;
  status: string;
  attempt: number;
  leaseUntil?: number;
  notBefore?: number;
  start?: number;
  results?: Record<string, unknown>;
  history?: { attempt: number; worker?: string; status: string; error?: string; stop?: number }[];
};

let t: TestService;
let db: Db;
let mongo: MongoClient;
beforeAll(async () => {
  // A long reap period: these tests move time themselves and call the audit when they want a pass.
  t = await startTestService(import.meta.filename, {
    BUCKETS_LEASE_SECONDS: "30",
    BUCKETS_REAP_SECONDS: "3600",
  });
  ({ client: mongo, db } = await testDb(import.meta.filename, "", { drop: false }));
});
afterAll(async () => {
  await mongo.close();
  await t.close();
});

const works = () => db.collection("works");
const deposit = async (overrides: Record<string, unknown>) =>
  (
    (
      await t.call("POST", "/work?return_ids=true", {
        token: t.tokens.alice,
        body: [aWork(overrides)],
      })
    ).body as string[]
  )[0] as string;
const get = async (id: string) =>
  ((await t.call("POST", "/view", { body: { query: { id } } })).body as Stored[])[0] as Stored;
const withdraw = async (pipeline: string, worker = "node1/1/w") =>
  (
    await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
      headers: { "x-worker-id": worker },
    })
  ).body as Stored | null;
/** Moves a work's clock: its lease (or backoff) ended a minute ago. */
const backdate = (id: string, field: "leaseUntil" | "notBefore") =>
  works().updateOne({ _id: new ObjectId(id) }, { $set: { [field]: Date.now() / 1000 - 60 } });
const report = (id: string, attempt: number, status: string, extra: object = {}) =>
  t.call("PUT", "/work", { token: t.tokens.worker, body: [{ id, attempt, status, ...extra }] });

describe("leases", () => {
  it("a silent holder loses the work after its lease: re-queued, re-claimed as attempt 2, failed after retries+1", async () => {
    const id = await deposit({ pipeline: "silent", retries: 1 });
    const first = await withdraw("silent", "node1/11/a");
    expect(first).toMatchObject({ id, attempt: 1, status: "running" });
    expect(first?.leaseUntil).toBeGreaterThan(Date.now() / 1000 + 25);

    await backdate(id, "leaseUntil");
    const audit = await t.call("GET", "/audit/expired");
    expect(audit.body).toMatchObject({ expired: 1, requeued: 1, failed: 0 });
    const requeued = await get(id);
    expect(requeued).toMatchObject({ status: "queued", attempt: 1 });
    expect(requeued.notBefore).toBeGreaterThan(Date.now() / 1000);
    expect(await withdraw("silent")).toBeNull(); // still in its backoff

    await backdate(id, "notBefore");
    expect(await withdraw("silent", "node2/22/b")).toMatchObject({ id, attempt: 2 });
    await backdate(id, "leaseUntil");
    expect((await t.call("GET", "/audit/expired")).body).toMatchObject({
      expired: 1,
      requeued: 0,
      failed: 1,
    });

    const final = await get(id);
    expect(final.status).toBe("failure");
    expect(final.history?.map((h) => [h.attempt, h.worker, h.status])).toEqual([
      [1, "node1/11/a", "expired"],
      [2, "node2/22/b", "expired"],
    ]);
    expect(final.history?.[0]?.error).toMatch(/lease expired/);
  });

  it("a heartbeat extends the lease, never past start + timeout", async () => {
    const id = await deposit({ pipeline: "beat", timeout: 40 });
    const claimed = (await withdraw("beat")) as Stored;
    await works().updateOne(
      { _id: new ObjectId(id) },
      { $set: { leaseUntil: Date.now() / 1000 + 1 } },
    );
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(beat).toMatchObject({ status: 200, body: { cancel: false } });
    const after = await get(id);
    expect(after.leaseUntil).toBeGreaterThan(Date.now() / 1000 + 25);
    expect(after.leaseUntil).toBeLessThanOrEqual((claimed.start as number) + 40);
  });

  it("a passed timeout ends the attempt too, saying so", async () => {
    const id = await deposit({ pipeline: "slow", retries: 0, timeout: 5 });
    await withdraw("slow");
    await works().updateOne(
      { _id: new ObjectId(id) },
      { $set: { deadline: Date.now() / 1000 - 1, leaseUntil: Date.now() / 1000 - 1 } },
    );
    await t.call("GET", "/audit/expired");
    const final = await get(id);
    expect(final.status).toBe("failure");
    expect(final.history?.[0]?.error).toBe("timed out");
  });
});

describe("outcomes", () => {
  it("a reported failure with retries left waits its backoff, then runs again", async () => {
    const id = await deposit({ pipeline: "retry", retries: 2 });
    await withdraw("retry");
    expect((await report(id, 1, "failure", { results: { error: "boom" } })).status).toBe(200);
    const waiting = await get(id);
    expect(waiting.status).toBe("queued");
    expect(waiting.notBefore).toBeGreaterThan(Date.now() / 1000 + 0.5);
    expect(waiting.notBefore).toBeLessThan(Date.now() / 1000 + 1.5);
    expect(await withdraw("retry")).toBeNull();
    await backdate(id, "notBefore");
    expect(await withdraw("retry")).toMatchObject({ id, attempt: 2 });
  });

  it("a zombie's outcome for an old attempt gets 409 and the newer attempt is untouched", async () => {
    const id = await deposit({ pipeline: "zombie" });
    await withdraw("zombie", "old/1/z");
    await backdate(id, "leaseUntil");
    await t.call("GET", "/audit/expired");
    await backdate(id, "notBefore");
    await withdraw("zombie", "new/2/z");
    const before = await get(id);

    const late = await report(id, 1, "success", { results: { from: "zombie" } });
    expect(late.status).toBe(409);
    expect(JSON.stringify(late.body)).toMatch(/attempt 1 is no longer current/);
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(beat.status).toBe(409);
    expect(await get(id)).toEqual(before);

    // An operator may still edit it.
    expect((await t.call("PUT", "/work", { body: [{ id, attempt: 1, priority: 5 }] })).status).toBe(
      200,
    );
    expect((await get(id)).attempt).toBe(2);
  });

  it("a batch of outcomes with one zombie among them: the zombie's is refused, the others recorded", async () => {
    const [a, b] = [await deposit({ pipeline: "batch" }), await deposit({ pipeline: "batch" })];
    await withdraw("batch", "old/1/z");
    await withdraw("batch", "old/1/z");
    // The first work's lease lapsed and another worker holds it now, as attempt 2.
    await backdate(a, "leaseUntil");
    await t.call("GET", "/audit/expired");
    await backdate(a, "notBefore");
    await withdraw("batch", "new/2/z");
    const newer = await get(a);

    const both = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [
        { id: a, attempt: 1, status: "success", results: { from: "zombie" } },
        { id: b, attempt: 1, status: "success", results: { n: 2 } },
      ],
    });
    expect(both.status).toBe(409);
    expect(both.body).toMatchObject({ error: { code: "conflict", details: { ids: [a] } } });
    expect(JSON.stringify(both.body)).toMatch(/attempt 1 is no longer current.*1 were recorded/);
    expect(await get(a)).toEqual(newer);
    expect(await get(b)).toMatchObject({ status: "success", results: { n: 2 } });
  });

  it("a report sent again after its answer was lost is taken; another outcome for that attempt is not", async () => {
    const id = await deposit({ pipeline: "again" });
    await withdraw("again");
    const outcome = { status: "success", stop: Date.now() / 1000, results: { once: true } };
    expect((await report(id, 1, "success", outcome)).status).toBe(200);
    const recorded = await get(id);
    expect((await report(id, 1, "success", outcome)).status).toBe(200);
    expect(await get(id)).toEqual(recorded);
    const different = await report(id, 1, "failure", { results: { error: "late" } });
    expect(different.status).toBe(409);
    expect(await get(id)).toEqual(recorded);
  });

  it("a worker whose lapsed attempt was put back in the queue gets 409, not 403", async () => {
    const id = await deposit({ pipeline: "lapsed", retries: 1 });
    await withdraw("lapsed");
    await backdate(id, "leaseUntil");
    await t.call("GET", "/audit/expired");
    const queued = await get(id);
    expect(queued).toMatchObject({ status: "queued", attempt: 1 });
    const late = await report(id, 1, "success");
    expect(late.status).toBe(409);
    expect(await get(id)).toEqual(queued);
  });

  it("history: two failed attempts and a success leave three entries with their workers", async () => {
    const id = await deposit({ pipeline: "story", retries: 2 });
    for (const [attempt, worker] of [
      [1, "a/1/x"],
      [2, "b/2/y"],
    ] as const) {
      await withdraw("story", worker);
      await report(id, attempt, "failure", { results: { error: `failed ${attempt}` } });
      await backdate(id, "notBefore");
    }
    await withdraw("story", "c/3/z");
    await report(id, 3, "success", { results: { ok: true } });
    const done = await get(id);
    expect(done.status).toBe("success");
    expect(done.history?.map((h) => [h.attempt, h.worker, h.status, h.error])).toEqual([
      [1, "a/1/x", "failure", "failed 1"],
      [2, "b/2/y", "failure", "failed 2"],
      [3, "c/3/z", "success", undefined],
    ]);
    expect(done.history?.every((h) => typeof h.stop === "number")).toBe(true);
  });
});

describe("cancel", () => {
  it("cancels a queued work at once", async () => {
    const id = await deposit({ pipeline: "cancel-queued" });
    expect((await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      200,
    );
    expect((await get(id)).status).toBe("cancelled");
    expect(await withdraw("cancel-queued")).toBeNull();
    expect((await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      409,
    );
  });

  it("cancels a running work: its heartbeat answers cancel, and the worker reports it", async () => {
    const id = await deposit({ pipeline: "cancel-running" });
    await withdraw("cancel-running");
    await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice });
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(beat.body).toEqual({ cancel: true });
    expect((await report(id, 1, "cancelled", { results: { error: "cancelled" } })).status).toBe(
      200,
    );
    const done = await get(id);
    expect(done.status).toBe("cancelled");
    expect(done.history?.[0]?.status).toBe("cancelled");
  });
});

describe("audits", () => {
  it("stale: unfinished works older than the days given become failures", async () => {
    const old = await deposit({ pipeline: "stale", creation: Date.now() / 1000 - 10 * 86_400 });
    const fresh = await deposit({ pipeline: "stale" });
    const audit = await t.call("GET", "/audit/stale/7");
    expect(audit.body).toEqual({ failed: 1 });
    expect((await get(old)).status).toBe("failure");
    expect((await get(fresh)).status).toBe("queued");
  });

  it("failed: failures that still have retries go back to the queue", async () => {
    const id = await deposit({ pipeline: "failed-audit", retries: 3 });
    await works().updateOne({ _id: new ObjectId(id) }, { $set: { status: "failure", attempt: 1 } });
    expect((await t.call("GET", "/audit/failed")).body).toEqual({ requeued: 1 });
    expect((await get(id)).status).toBe("queued");
  });

  it("shows re-queues, expiries, final failures and claim latency in /metrics", async () => {
    const metrics = (await t.call("GET", "/metrics", { token: null })).body as string;
    expect(metrics).toMatch(/buckets_requeues_total [1-9]/);
    expect(metrics).toMatch(/buckets_expiries_total [1-9]/);
    expect(metrics).toMatch(/buckets_final_failures_total [1-9]/);
    expect(metrics).toMatch(/buckets_claim_duration_seconds_count [1-9]/);
    expect(metrics).toContain("buckets_longpoll_waiters");
  });
});
