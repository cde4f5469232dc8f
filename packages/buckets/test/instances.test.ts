import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { reap } from "../src/service/reaper.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * Two service instances on one database race every transition: each is one conditional update, so
 * exactly one instance applies it. Instance B's own clock runs two minutes fast, as a badly
 * synchronised node's would; only MongoDB's clock may count.
 */

const SKEW_MS = 120_000;

let a: TestService;
let b: TestService;
let db: Db;
let mongo: MongoClient;
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  a = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  b = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" }, "", {
    localClock: () => Date.now() + SKEW_MS,
  });
});
afterAll(async () => {
  await mongo.close();
  await Promise.all([a?.close(), b?.close()]);
});

const works = () => db.collection("works");
const depositMany = async (pipeline: string, n: number, overrides: object = {}) =>
  (
    await a.call("POST", "/work?return_ids=true", {
      token: a.tokens.alice,
      body: Array.from({ length: n }, () => aWork({ pipeline, ...overrides })),
    })
  ).body as string[];
const claimAll = async (pipeline: string, n: number, lease = "?lease=30") => {
  const claimed = (
    await a.call("POST", `/work/withdraw${lease ? `${lease}&` : "?"}count=${n}`, {
      token: a.tokens.worker,
      body: { pipeline },
    })
  ).body as { id: string; attempt: number }[];
  expect(claimed).toHaveLength(n);
  return claimed;
};
const statuses = (answers: { status: number }[]) => answers.map((r) => r.status).sort();
const historyOf = async (id: string) =>
  (
    (await a.call("POST", "/view", { body: { query: { id } } })).body as {
      history: { attempt: number; status: string }[];
    }[]
  )[0]?.history ?? [];

describe("one clock", () => {
  it("an instance whose clock runs two minutes fast stamps MongoDB's time and ends no lease early", async () => {
    expect(Math.abs(b.service.ctx.now() - Date.now() / 1000)).toBeLessThan(2);
    const [id] = await depositMany("clock", 1);
    const [claimed] = (
      await b.call("POST", "/work/withdraw?lease=30&count=1", {
        token: b.tokens.worker,
        body: { pipeline: "clock" },
      })
    ).body as { id: string; start: number; leaseUntil: number }[];
    expect(claimed?.id).toBe(id);
    expect(Math.abs((claimed?.start ?? 0) - Date.now() / 1000)).toBeLessThan(2);
    expect(await reap(b.service.ctx)).toEqual({ lapsed: 0, requeued: 0 });
    expect(
      (await a.call("POST", "/view/count", { body: { query: { id, status: "running" } } })).body,
    ).toBe(1);
  });
});

describe("two instances race", () => {
  it("claims: every work goes to exactly one worker", async () => {
    const ids = await depositMany("race-claim", 40);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? a : b).call("POST", "/work/withdraw?lease=30", {
          token: a.tokens.worker,
          body: { pipeline: "race-claim" },
        }),
      ),
    );
    const got = answers.map((r) => (r.body as { id: string }).id);
    expect(new Set(got).size).toBe(40);
    expect([...got].sort()).toEqual([...ids].sort());
  });

  it("batched claims: rounds that overlap on both instances share out every work once", {
    timeout: 60_000,
  }, async () => {
    // 16 batches of 50 on each instance, 1,600 asked for 1,000 works: each instance's rounds look
    // for candidates while its earlier rounds write, and both take from the same head.
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push(...(await depositMany("race-batch", 250)));
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) =>
        (i % 2 ? a : b).call("POST", "/work/withdraw?lease=30&count=50", {
          token: a.tokens.worker,
          body: { pipeline: "race-batch" },
        }),
      ),
    );
    const got = answers.flatMap((r) => {
      expect(r.status).toBe(200);
      return (r.body as { id: string }[]).map((w) => w.id);
    });
    expect(got).toHaveLength(1_000);
    expect(new Set(got).size).toBe(1_000);
    expect([...got].sort()).toEqual([...ids].sort());
    expect(await works().countDocuments({ pipeline: "race-batch", status: "queued" })).toBe(0);
  });

  it("outcomes: two different outcomes for one attempt, one is recorded", async () => {
    await depositMany("race-outcome", 10);
    const claimed = await claimAll("race-outcome", 10);
    for (const work of claimed) {
      const answers = await Promise.all(
        (["success", "failure"] as const).map((status, i) =>
          (i ? b : a).call("PUT", "/work", {
            token: a.tokens.worker,
            body: [{ id: work.id, attempt: work.attempt, status }],
          }),
        ),
      );
      expect(statuses(answers)).toEqual([200, 409]);
      const closed = (await historyOf(work.id)).filter((h) => h.status !== "running");
      expect(closed).toHaveLength(1);
    }
  });

  it("lapses and deadlines: each expired attempt is failed once", async () => {
    await depositMany("race-lapse", 20);
    const leased = await claimAll("race-lapse", 20);
    await depositMany("race-deadline", 10);
    const held = await claimAll("race-deadline", 10, "");
    await works().updateMany(
      { pipeline: { $in: ["race-lapse", "race-deadline"] } },
      { $set: { leaseUntil: Date.now() / 1000 - 60, deadline: Date.now() / 1000 - 60 } },
    );
    const [x, y] = await Promise.all([reap(a.service.ctx), reap(b.service.ctx)]);
    expect((x?.lapsed ?? 0) + (y?.lapsed ?? 0)).toBe(30);
    for (const work of [...leased, ...held]) {
      expect((await historyOf(work.id)).map((h) => h.status)).toEqual(["expired"]);
    }
  });

  it("retries and the failed audit: each failure goes back to the queue once", async () => {
    await depositMany("race-retry", 10);
    await depositMany("race-audit", 10);
    for (const pipeline of ["race-retry", "race-audit"]) {
      for (const work of await claimAll(pipeline, 10)) {
        await a.call("PUT", "/work", {
          token: a.tokens.worker,
          body: [{ id: work.id, attempt: work.attempt, status: "failure" }],
        });
      }
    }
    // Only race-retry's retries are due; every other failure waits an hour.
    const now = Date.now() / 1000;
    await works().updateMany({ status: "failure", retryAt: { $exists: true } }, [
      { $set: { retryAt: { $cond: [{ $eq: ["$pipeline", "race-retry"] }, now - 1, now + 3600] } } },
    ]);
    const [x, y] = await Promise.all([reap(a.service.ctx), reap(b.service.ctx)]);
    // The reaper re-queues due retries; the audit's works are not due yet.
    expect((x?.requeued ?? 0) + (y?.requeued ?? 0)).toBe(10);
    // Earlier tests left failures with retries too: the audit takes them all, once.
    const waiting = { status: "failure", retryAt: { $exists: true } };
    const due = await works().countDocuments(waiting);
    expect(due).toBeGreaterThanOrEqual(10);
    const audits = await Promise.all([a, b].map((s) => s.call("GET", "/audit/failed")));
    expect(audits.map((r) => r.body as number).reduce((m, n) => m + n, 0)).toBe(due);
    expect(await works().countDocuments(waiting)).toBe(0);
  });

  it("release and cancel: one instance applies each, the other answers 409", async () => {
    await depositMany("race-release", 5);
    for (const work of await claimAll("race-release", 5)) {
      const answers = await Promise.all(
        [a, b].map((s) =>
          s.call("POST", `/work/${work.id}/release?attempt=${work.attempt}`, {
            token: a.tokens.worker,
          }),
        ),
      );
      expect(statuses(answers)).toEqual([200, 409]);
      expect((await historyOf(work.id)).map((h) => h.status)).toEqual(["released"]);
    }
    for (const id of await depositMany("race-cancel", 5)) {
      const answers = await Promise.all(
        [a, b].map((s) => s.call("POST", `/work/${id}/cancel`, { token: a.tokens.alice })),
      );
      expect(statuses(answers)).toEqual([200, 409]);
    }
  });
});
