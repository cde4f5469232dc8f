import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { chimeCall, chimeWork } from "./support/chime.js";
import { useTestService } from "./support/service.js";

/**
 * The results store as CHIME's results client (workflow v1.12, workflow/http/results.py) and its
 * transfer daemon (workflow/daemons/transfer.py) call it, given the base URL
 * http://host:port/results-service: the token in `x-access-token`, bodies with every key sent
 * and optional fields null, raw `$in` filters and projections.
 */

const BASE = "/results-service";
type Result = Record<string, unknown> & { id: string; results?: Record<string, unknown> };

const { t, db } = useTestService(import.meta.filename);

/** CHIME's session: its token in x-access-token, never Authorization. */
const chime = (method: string, path: string, body?: unknown, token = t.tokens.alice) =>
  chimeCall(t, token, method, `${BASE}${path}`, body);

/** Works deposited to the queue as CHIME does, then finished there (as a worker would leave them). */
async function finishedInQueue(works: Record<string, unknown>[]) {
  const deposited = await t.call("POST", "/work?return_ids=true", {
    token: t.tokens.alice,
    body: works,
  });
  expect(deposited.status, JSON.stringify(deposited.body)).toBe(200);
  const ids = deposited.body as string[];
  await db
    .collection("works")
    .updateMany(
      { _id: { $in: ids.map((id) => new ObjectId(id)) } },
      { $set: { status: "success", attempt: 1, start: 100, stop: 110, results: { snr: 12 } } },
    );
  return ids;
}

/** The transfer daemon's payload: POST /view on the queue, `{"id": {"$in": ids}}`, projection {}. */
async function queuePayload(ids: string[]): Promise<Result[]> {
  const got = await t.call("POST", "/view", {
    token: null,
    headers: { "x-access-token": t.tokens.alice },
    body: { query: { id: { $in: ids } }, projection: {}, skip: 0, limit: 150 },
  });
  expect(got.status).toBe(200);
  return got.body as Result[];
}

describe("CHIME's results client", () => {
  it("HEAD and GET /version answer without a token (the client probes its base URL)", async () => {
    const head = await t.call("HEAD", `${BASE}/version`, { token: null });
    expect(head.status).toBe(200);
    const got = await t.call("GET", `${BASE}/version`, { token: null });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ version: expect.any(String) });
  });

  it("the transfer daemon's deposit keeps every work once, however often it is sent", async () => {
    const ids = await finishedInQueue([
      chimeWork("r-transfer", { event: [101], tags: ["a"] }),
      chimeWork("r-transfer", { event: [102], tags: ["b"] }),
      chimeWork("r-transfer", { event: [103] }),
    ]);
    const payload = await queuePayload(ids);
    expect(payload).toHaveLength(3);
    const kept = await chime("POST", "/results", payload);
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
    // CHIME's old daemon deletes from buckets when every value is > 0 (True is).
    expect(kept.body).toEqual({ "r-transfer": true });
    // Sent again (the daemon died before deleting from buckets): nothing changes.
    expect((await chime("POST", "/results", payload)).body).toEqual({ "r-transfer": true });
    expect(await db.collection("results").countDocuments({ pipeline: "r-transfer" })).toBe(3);
    // Its duplicate check, work by work.
    for (const id of ids) {
      const n = await chime("POST", "/view/count", { query: { id, pipeline: "r-transfer" } });
      expect(n.body).toBe(1);
    }
    expect((await t.call("DELETE", `/work?ids=${ids.join(",")}`)).status).toBe(200);
    // Gone from the queue, still in results, as the queue had it.
    const view = await chime("POST", "/view", {
      query: { id: { $in: ids }, pipeline: "r-transfer" },
      projection: {},
      skip: 0,
      limit: 0,
    });
    expect(view.status).toBe(200);
    const results = view.body as Result[];
    expect(results.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(results[0]).toMatchObject({ status: "success", results: { snr: 12 }, user: "alice" });
    expect(results[0]).not.toHaveProperty("_id");
    expect(results[0]).not.toHaveProperty("deposited");
  });

  it("a round with nothing to transfer deposits [] and hears {}", async () => {
    const got = await chime("POST", "/results", []);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({});
  });

  it("a CHIME payload deposited directly (nulls everywhere but the id and status) is kept", async () => {
    const id = new ObjectId().toHexString();
    const got = await chime("POST", "/results", [
      chimeWork("r-direct", { id, status: "failure", results: { error: "boom" } }),
    ]);
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    const [kept] = (
      await chime("POST", "/view", {
        query: { pipeline: "r-direct" },
        projection: {},
        skip: 0,
        limit: 100,
      })
    ).body as Result[];
    expect(kept).toMatchObject({ id, status: "failure", priority: 3, retries: 2 });
  });

  it("`workflow results view` and `count`: $in filters on status, event and tags, with its projection", async () => {
    const works = [1, 2, 3, 4].map((n) =>
      chimeWork("r-query", {
        id: new ObjectId().toHexString(),
        status: n === 4 ? "failure" : "success",
        event: [n],
        tags: n % 2 ? ["odd"] : ["even"],
        results: { n },
        products: [`p${n}.h5`],
      }),
    );
    expect((await chime("POST", "/results", works)).status).toBe(200);
    const view = await chime("POST", "/view", {
      query: { status: { $in: ["success"] }, tags: { $in: ["odd"] }, pipeline: "r-query" },
      projection: { id: true, results: true, products: true, plots: true, status: true },
      skip: 0,
      limit: 10,
    });
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    expect(view.body).toEqual([
      { id: works[0]?.id, results: { n: 1 }, products: ["p1.h5"], status: "success" },
      { id: works[2]?.id, results: { n: 3 }, products: ["p3.h5"], status: "success" },
    ]);
    // get_by_event: `{"event": [n]}`.
    const byEvent = await chime("POST", "/view", {
      query: { event: [4], pipeline: "r-query" },
      projection: {},
      skip: 0,
      limit: 0,
    });
    expect((byEvent.body as Result[]).map((r) => r.id)).toEqual([works[3]?.id]);
    const count = await chime("POST", "/view/count", {
      query: { event: { $in: [1, 2, 4] }, pipeline: "r-query" },
    });
    expect(count.body).toBe(3);
    // skip pages in id order.
    const page = await chime("POST", "/view", {
      query: { pipeline: "r-query" },
      projection: { id: true },
      skip: 3,
      limit: 10,
    });
    expect(page.body).toEqual([{ id: works[3]?.id }]);
  });

  it("GET /status counts results per pipeline (`workflow results count`)", async () => {
    const got = await chime("GET", "/status");
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ "r-transfer": 3, "r-direct": 1, "r-query": 4 });
  });

  it("lock, get_locked, unlock and delete_ids: a locked result is neither changed nor deleted", async () => {
    const ids = [1, 2].map(() => new ObjectId().toHexString());
    await chime(
      "POST",
      "/results",
      ids.map((id) => chimeWork("r-lock", { id, status: "success", results: { v: 1 } })),
    );
    // lock(): get_by_id, set results.locked, update.
    const byId = async () =>
      (
        await chime("POST", "/view", {
          query: { id: { $in: ids }, pipeline: "r-lock" },
          projection: {},
          skip: 0,
          limit: 0,
        })
      ).body as Result[];
    const locking = (await byId()).map((w) => ({ ...w, results: { ...w.results, locked: true } }));
    const locked = await chime("PUT", "/results", locking.slice(0, 1));
    expect(locked.status, JSON.stringify(locked.body)).toBe(200);
    expect(locked.body).toBe(true);
    // get_locked and get_locked_count.
    const got = await chime("POST", "/view", {
      query: { "results.locked": true, pipeline: "r-lock" },
      projection: { event: true, plots: true, products: true, results: true },
      skip: 0,
      limit: 10,
    });
    expect(got.body).toEqual([{ id: ids[0], results: { v: 1, locked: true } }]);
    expect(
      (
        await chime("POST", "/view/count", {
          query: { "results.locked": true, pipeline: "r-lock" },
        })
      ).body,
    ).toBe(1);
    // Locked: an update that keeps it locked, and a delete, are refused; the result is unchanged.
    const changed = await chime("PUT", "/results", [
      { ...locking[0], results: { v: 2, locked: true } },
    ]);
    expect(changed.status).toBe(409);
    expect(JSON.stringify(changed.body)).toContain(ids[0]);
    const refused = await chime("DELETE", `/results?r-lock=${ids[0]}&r-lock=${ids[1]}`);
    expect(refused.status).toBe(409);
    expect((await byId()).map((w) => w.results)).toEqual([{ v: 1, locked: true }, { v: 1 }]);
    // unlock(): the same, with locked false.
    const unlocking = (await byId()).map((w) => ({
      ...w,
      results: { ...w.results, locked: false },
    }));
    expect((await chime("PUT", "/results", unlocking)).status).toBe(200);
    // delete_ids(pipeline, ids): requests sends ?r-lock=a&r-lock=b.
    const removed = await chime("DELETE", `/results?r-lock=${ids[0]}&r-lock=${ids[1]}`);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    // CHIME's test_cleanup_results: `delete_ids(pipeline, ids=[...]) == {pipeline: True}`.
    expect(removed.body).toEqual({ "r-lock": true });
    expect(await byId()).toEqual([]);
    // Repeated: nothing left to delete, the same answer.
    expect((await chime("DELETE", `/results?r-lock=${ids[0]}`)).body).toEqual({ "r-lock": true });
  });

  it("a delete names ids within their pipeline: another pipeline's key deletes nothing", async () => {
    const id = new ObjectId().toHexString();
    await chime("POST", "/results", [chimeWork("r-keys", { id, status: "success" })]);
    expect((await chime("DELETE", `/results?r-other=${id}`)).status).toBe(200);
    expect((await chime("POST", "/view/count", { query: { id, pipeline: "r-keys" } })).body).toBe(
      1,
    );
  });
});
