import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { chimeCall } from "./support/chime.js";
import { aWork, useTestService } from "./support/service.js";

/** The results store refuses what the queue refuses, with the same answers; never a 500. */

const BASE = "/results-service";

const { t, db } = useTestService(import.meta.filename, { BUCKETS_VIEW_MAX_MB: "1" });

/** CHIME's session: its token in x-access-token. */
const chime = (method: string, path: string, body?: unknown, token = t.tokens.alice) =>
  chimeCall(t, token, method, `${BASE}${path}`, body);

describe("bad input gets what the queue gives: 400 naming the field, 413 past the limits", () => {
  const finished = (overrides: Record<string, unknown> = {}) =>
    aWork({ pipeline: "r-bad", id: new ObjectId().toHexString(), status: "success", ...overrides });
  const expectRefusal = async (
    got: Promise<{ status: number; body: unknown }>,
    status: number,
    text: string,
  ) => {
    const answer = await got;
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect((answer.body as { error: { message: string } }).error.message).toContain(text);
  };

  it("deposits: not an array, no id, not finished, a bad field, results over 4 MB", async () => {
    await expectRefusal(chime("POST", "/results", { pipeline: "r-bad" }), 400, "JSON array");
    await expectRefusal(chime("POST", "/results", "not json"), 400, "");
    await expectRefusal(chime("POST", "/results", [null]), 400, "works[0]");
    await expectRefusal(chime("POST", "/results", [finished({ id: null })]), 400, "works[0].id");
    await expectRefusal(
      chime("POST", "/results", [finished(), finished({ status: "queued" })]),
      400,
      "works[1].status",
    );
    await expectRefusal(chime("POST", "/results", [finished({ priority: 9 })]), 400, "priority");
    await expectRefusal(
      chime("POST", "/results", [finished({ results: { blob: "x".repeat(4_000_001) } })]),
      413,
      "works[0]",
    );
    // Nothing of a refused request is kept.
    expect(await db.collection("results").countDocuments({ pipeline: "r-bad" })).toBe(0);
  });

  it("views and counts: operators outside the safe language, bad projections, skip and limit", async () => {
    await expectRefusal(
      chime("POST", "/view", {
        query: { $where: "sleep(1000)" },
        projection: {},
        skip: 0,
        limit: 1,
      }),
      400,
      "query.$where",
    );
    await expectRefusal(
      chime("POST", "/view", { query: { pipeline: { $regex: ".*" } } }),
      400,
      "query.pipeline",
    );
    await expectRefusal(
      chime("POST", "/view", { query: {}, projection: { "a.$b": true } }),
      400,
      "projection",
    );
    await expectRefusal(chime("POST", "/view", { query: {}, limit: -1 }), 400, "limit");
    await expectRefusal(chime("POST", "/view", { query: {}, skip: "0" }), 400, "skip");
    await expectRefusal(chime("POST", "/view", { query: {}, sort: { id: 1 } }), 400, "sort");
    await expectRefusal(chime("POST", "/view/count", { query: [] }), 400, "query");
    await expectRefusal(chime("POST", "/view", { query: { id: "nothex" } }), 400, "query.id");
    await expectRefusal(chime("POST", "/view", "[1]"), 400, "body");
  });

  it("an answer past the byte cap is a 413 that says how to page", async () => {
    const big = [1, 2, 3].map(() =>
      finished({ pipeline: "r-big", results: { blob: "y".repeat(400_000) } }),
    );
    expect((await chime("POST", "/results", big)).status).toBe(200);
    await expectRefusal(
      chime("POST", "/view", { query: { pipeline: "r-big" }, projection: {}, skip: 0, limit: 0 }),
      413,
      "skip=2",
    );
  });

  it("updates and deletes: unknown ids, bad ids and pipeline names", async () => {
    await expectRefusal(chime("PUT", "/results", [finished()]), 404, "no result with id");
    await expectRefusal(chime("DELETE", "/results"), 400, "?<pipeline>=<id>");
    await expectRefusal(chime("DELETE", "/results?r-bad=nothex"), 400, "nothex");
    await expectRefusal(
      chime("DELETE", `/results?${encodeURIComponent("bad name!")}=${new ObjectId()}`),
      400,
      "not a pipeline name",
    );
  });

  it("a user keeps, changes and deletes only their own works; an admin any", async () => {
    const bobs = finished({ user: "bob" });
    await expectRefusal(chime("POST", "/results", [bobs]), 403, "works[0].user");
    expect((await chime("POST", "/results", [bobs], t.tokens.admin)).status).toBe(200);
    await expectRefusal(chime("DELETE", `/results?r-bad=${bobs.id}`), 403, "bob");
    expect(
      (await chime("DELETE", `/results?r-bad=${bobs.id}`, undefined, t.tokens.bob)).status,
    ).toBe(200);
  });
});
