import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { reap } from "../src/service/reaper.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";
import { depositWork, viewWork } from "./support/works.js";

type Stored = {
  id: string;
  status: string;
  attempt: number;
  leaseUntil?: number;
  retryAt?: number;
  start?: number;
  results?: Record<string, unknown>;
  history?: { attempt: number; worker?: string; status: string; error?: string; stop?: number }[];
};

// A long reap period: these tests move time themselves and run a reaper pass when they want one.
const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

const works = () => db.collection("works");
const deposit = (overrides: Record<string, unknown>) => depositWork(t, overrides);
const get = (id: string) => viewWork<Stored>(t, id);
const withdraw = async (pipeline: string, worker = "node1/1/w", query = "?lease=30") =>
  (
    await t.call("POST", `/work/withdraw${query}`, {
      token: t.tokens.worker,
      body: { pipeline },
      headers: { "x-worker-id": worker },
    })
  ).body as Stored | null;
/** Moves a work's clock: its lease (or retry time) ended a minute ago. */
const backdate = (id: string, field: "leaseUntil" | "retryAt") =>
  works().updateOne({ _id: new ObjectId(id) }, { $set: { [field]: Date.now() / 1000 - 60 } });
const report = (id: string, attempt: number, status: string, extra: object = {}) =>
  t.call("PUT", "/work", { token: t.tokens.worker, body: [{ id, attempt, status, ...extra }] });
const reapNow = () => reap(t.service.ctx);

describe("leases", () => {
  it("a silent holder loses the work after its lease: a failure with a retry, then attempt 2, then a final failure", async () => {
    const id = await deposit({ pipeline: "silent", retries: 1 });
    const first = await withdraw("silent", "node1/11/a");
    expect(first).toMatchObject({ id, attempt: 1, status: "running" });
    expect(first?.leaseUntil).toBeGreaterThan(Date.now() / 1000 + 25);

    await backdate(id, "leaseUntil");
    expect(await reapNow()).toMatchObject({ lapsed: 1 });
    const failed = await get(id);
    expect(failed).toMatchObject({ status: "failure", attempt: 1 });
    expect(failed.retryAt).toBeGreaterThan(Date.now() / 1000);
    expect(await withdraw("silent")).toBeNull(); // still waiting for its retry

    await backdate(id, "retryAt");
    expect(await reapNow()).toMatchObject({ requeued: 1 });
    expect(await withdraw("silent", "node2/22/b")).toMatchObject({ id, attempt: 2 });
    await backdate(id, "leaseUntil");
    await reapNow();

    const final = await get(id);
    expect(final.status).toBe("failure");
    expect(final.retryAt).toBeUndefined();
    expect(final.history?.map((h) => [h.attempt, h.worker, h.status])).toEqual([
      [1, "node1/11/a", "expired"],
      [2, "node2/22/b", "expired"],
    ]);
    expect(final.history?.[0]?.error).toMatch(/lease expired/);
  });

  it("a heartbeat extends the lease, never past start + timeout + grace", async () => {
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
    expect(after.leaseUntil).toBeLessThanOrEqual((claimed.start as number) + 40 + 30);
  });

  it("a claim without ?lease holds until start + timeout + grace, and heartbeats do not shorten it", async () => {
    const id = await deposit({ pipeline: "unleased", timeout: 600 });
    const claimed = (await withdraw("unleased", "chime/1/w", "")) as Stored;
    expect(claimed.leaseUntil).toBe((claimed.start as number) + 600 + 30);
    await t.call("POST", `/work/${id}/heartbeat?attempt=1`, { token: t.tokens.worker });
    expect((await get(id)).leaseUntil).toBe(claimed.leaseUntil);
  });

  it("a passed deadline ends the attempt too, saying so", async () => {
    const id = await deposit({ pipeline: "slow", retries: 0, timeout: 5 });
    await withdraw("slow");
    await works().updateOne(
      { _id: new ObjectId(id) },
      { $set: { deadline: Date.now() / 1000 - 1, leaseUntil: Date.now() / 1000 - 1 } },
    );
    await reapNow();
    const final = await get(id);
    expect(final.status).toBe("failure");
    expect(final.history?.[0]?.error).toBe("timed out");
  });
});

describe("outcomes", () => {
  it("a reported failure with retries left is a failure with retryAt; the reaper re-queues it then", async () => {
    const id = await deposit({ pipeline: "retry", retries: 2 });
    await withdraw("retry");
    expect((await report(id, 1, "failure", { results: { error: "boom" } })).status).toBe(200);
    const waiting = await get(id);
    expect(waiting.status).toBe("failure");
    expect(waiting.retryAt).toBeGreaterThanOrEqual(Date.now() / 1000 + 0.5);
    expect(waiting.retryAt).toBeLessThan(Date.now() / 1000 + 2);
    expect(await reapNow()).toMatchObject({ requeued: 0 });
    expect(await withdraw("retry")).toBeNull();
    await backdate(id, "retryAt");
    expect(await reapNow()).toMatchObject({ requeued: 1 });
    expect(await withdraw("retry")).toMatchObject({ id, attempt: 2 });
  });

  it("a zombie's outcome for an old attempt gets 409 and the newer attempt is untouched", async () => {
    const id = await deposit({ pipeline: "zombie" });
    await withdraw("zombie", "old/1/z");
    await backdate(id, "leaseUntil");
    await reapNow();
    await backdate(id, "retryAt");
    await reapNow();
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
  });

  it("a batch of outcomes with one zombie among them: the zombie's is refused, the others recorded", async () => {
    const [a, b] = [await deposit({ pipeline: "batch" }), await deposit({ pipeline: "batch" })];
    await withdraw("batch", "old/1/z");
    await withdraw("batch", "old/1/z");
    // The first work's lease lapsed and another worker holds it now, as attempt 2.
    await backdate(a, "leaseUntil");
    await reapNow();
    await backdate(a, "retryAt");
    await reapNow();
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
    expect(both.body).toMatchObject({
      error: {
        code: "attempt_stale",
        details: { ids: [a], recorded: 1, refused: [{ index: 0, id: a, code: "attempt_stale" }] },
      },
    });
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

  it("history: two failed attempts and a success leave three entries with their workers", async () => {
    const id = await deposit({ pipeline: "story", retries: 2 });
    for (const [attempt, worker] of [
      [1, "a/1/x"],
      [2, "b/2/y"],
    ] as const) {
      await withdraw("story", worker);
      await report(id, attempt, "failure", { results: { error: `failed ${attempt}` } });
      await backdate(id, "retryAt");
      await reapNow();
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

describe("release", () => {
  it("puts the attempt back in the queue at once, without spending a retry", async () => {
    const id = await deposit({ pipeline: "release", retries: 0 });
    await withdraw("release", "slurm/1/a");
    const released = await t.call("POST", `/work/${id}/release?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(released).toMatchObject({ status: 200, body: true });
    expect(await get(id)).toMatchObject({ status: "queued", attempt: 1 });
    // retries: 0 allows one counted attempt. The released one did not count: attempt 2 runs, and
    // its failure is the final one.
    expect(await withdraw("release", "slurm/2/b")).toMatchObject({ id, attempt: 2 });
    await report(id, 2, "failure", { results: { error: "real" } });
    const final = await get(id);
    expect(final).toMatchObject({ status: "failure", attempt: 2 });
    expect(final.retryAt).toBeUndefined();
    expect(final.history?.map((h) => h.status)).toEqual(["released", "failure"]);
  });

  it("refuses a stale attempt with 409, and a work outside the token's pipelines with 404", async () => {
    const id = await deposit({ pipeline: "release-stale" });
    await withdraw("release-stale");
    const stale = await t.call("POST", `/work/${id}/release?attempt=7`, { token: t.tokens.worker });
    expect(stale.status).toBe(409);
    const other = t.token("w2", ["work:withdraw"], ["elsewhere"]);
    const hidden = await t.call("POST", `/work/${id}/release?attempt=1`, { token: other });
    expect(hidden.status).toBe(404);
    expect(JSON.stringify(hidden.body)).not.toMatch(/running|attempt 1/);
    expect((await get(id)).status).toBe("running");
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

  it("cancels a running work: its heartbeat answers cancel, and the worker's report keeps it cancelled", async () => {
    const id = await deposit({ pipeline: "cancel-running" });
    await withdraw("cancel-running");
    await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice });
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(beat.body).toEqual({ cancel: true });
    expect((await report(id, 1, "failure", { results: { error: "cancelled" } })).status).toBe(200);
    const done = await get(id);
    expect(done).toMatchObject({ status: "cancelled", results: { error: "cancelled" } });
    expect(done.history?.[0]?.status).toBe("cancelled");
  });

  it("cancels a failure waiting for its retry, which then never comes", async () => {
    const id = await deposit({ pipeline: "cancel-retry" });
    await withdraw("cancel-retry");
    await report(id, 1, "failure");
    expect((await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      200,
    );
    await backdate(id, "retryAt");
    await reapNow();
    expect(await get(id)).toMatchObject({ status: "cancelled" });
  });
});

describe("metrics", () => {
  it("shows re-queues, expiries, final failures and claim latency in /metrics", async () => {
    const metrics = (await t.call("GET", "/metrics")).body as string;
    expect(metrics).toMatch(/buckets_requeues_total [1-9]/);
    expect(metrics).toMatch(/buckets_expiries_total [1-9]/);
    expect(metrics).toMatch(/buckets_final_failures_total [1-9]/);
    expect(metrics).toMatch(/buckets_claim_duration_seconds_count [1-9]/);
    expect(metrics).toContain("buckets_longpoll_waiters");
  });
});
