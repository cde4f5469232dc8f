import { describe, expect, it } from "vitest";
import { chimeWork } from "./support/chime.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

describe("the API's happy paths", () => {
  it("answers /version and HEAD /version without a token", async () => {
    const got = await t.call("GET", "/version", { token: null });
    expect(got.status).toBe(200);
    expect(got.body).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const head = await fetch(`${t.url}/version`, { method: "HEAD" });
    expect(head.status).toBe(200);
  });

  it("deposits, answers ids with return_ids in any case, and shows works as queued with an id", async () => {
    const plain = await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork()] });
    expect(plain).toMatchObject({ status: 200, body: true });
    const withIds = await t.call("POST", "/work?return_ids=TRUE", {
      token: t.tokens.alice,
      body: [aWork({ creation: 1000.5 }), aWork({ priority: 5 })],
    });
    expect(withIds.status).toBe(200);
    const ids = withIds.body as string[];
    expect(ids).toHaveLength(2);
    const view = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { query: { id: { $in: ids } } },
    });
    const works = view.body as Record<string, unknown>[];
    expect(works).toHaveLength(2);
    for (const work of works) {
      expect(work).toMatchObject({ status: "queued", attempt: 0, user: "alice" });
      expect(work).not.toHaveProperty("_id");
      expect(ids).toContain(work.id);
    }
    expect(works.find((w) => w.id === ids[0])?.creation).toBe(1000.5);
  });

  it("stores a work as queued whatever the depositor says about its run", async () => {
    const sent = aWork({
      pipeline: "owned",
      status: "success",
      attempt: 4,
      start: 5,
      stop: 6,
      leaseUntil: 7,
      retryAt: 9,
      uncounted: 2,
      notBefore: 8,
      history: [{ attempt: 4, status: "success" }],
      config: { strategy: "relaxed", parent: "p" },
      tags: ["kept"],
    });
    const answer = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [sent],
    });
    expect(answer.status).toBe(200);
    const [work] = (await t.call("POST", "/view", { body: { query: { pipeline: "owned" } } }))
      .body as Record<string, unknown>[];
    expect(work).toMatchObject({ id: (answer.body as string[])[0], status: "queued", attempt: 0 });
    expect(work).toMatchObject({ tags: ["kept"], config: { parent: "p" } });
    for (const field of ["start", "stop", "leaseUntil", "retryAt", "uncounted", "history"]) {
      expect(work, field).not.toHaveProperty(field);
    }
    expect(work?.config).not.toHaveProperty("strategy");
    // notBefore is the depositor's to set: a deposit for later.
    expect(work).toMatchObject({ notBefore: 8 });
  });

  it("takes a deposit repeated with the depositor's ids once, but an id the service gave is not reusable", async () => {
    const id = "65a0c0ffee0123456789abcd";
    const work = aWork({ pipeline: "again", id, creation: 123 });
    for (let i = 0; i < 2; i++) {
      expect(await t.call("POST", "/work", { token: t.tokens.alice, body: [work] })).toMatchObject({
        status: 200,
      });
    }
    const plain = aWork({ pipeline: "again", creation: 456 });
    const given = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [plain],
    });
    const [taken] = given.body as string[];
    const reused = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [{ ...plain, id: taken }],
    });
    expect(reused.status).toBe(409);
    expect(JSON.stringify(reused.body)).toContain(String(taken));
    const count = await t.call("POST", "/view/count", { body: { query: { pipeline: "again" } } });
    expect(count.body).toBe(2);
  });

  it("withdraws one work atomically: running, attempt 1, start set", async () => {
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "claim-me" })],
    });
    const got = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: "claim-me" },
    });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      pipeline: "claim-me",
      status: "running",
      attempt: 1,
      start: expect.any(Number),
    });
    const none = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: "claim-me" },
    });
    expect(none).toMatchObject({ status: 200, body: null });
  });

  it("updates works by id and refuses unknown ids with 404 naming them", async () => {
    const [id] = (
      await t.call("POST", "/work?return_ids=true", { token: t.tokens.alice, body: [aWork()] })
    ).body as string[];
    const ok = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id, priority: 5, tags: ["x"] }],
    });
    expect(ok).toMatchObject({ status: 200, body: true });
    const [work] = (await t.call("POST", "/view", { body: { query: { id } } })).body as Record<
      string,
      unknown
    >[];
    expect(work).toMatchObject({ priority: 5, tags: ["x"], pipeline: "fit" });
    const missing = "0123456789abcdef01234567";
    const bad = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id: missing, priority: 1 }],
    });
    expect(bad.status).toBe(404);
    expect(JSON.stringify(bad.body)).toContain(missing);
  });

  it("deletes with ?ids=a&ids=b and ?ids=a,b", async () => {
    const ids = (
      await t.call("POST", "/work?return_ids=true", {
        token: t.tokens.alice,
        body: [aWork(), aWork(), aWork(), aWork()],
      })
    ).body as string[];
    expect(
      (await t.call("DELETE", `/work?ids=${ids[0]}&ids=${ids[1]}`, { token: t.tokens.alice })).body,
    ).toBe(true);
    expect(
      (await t.call("DELETE", `/work?ids=${ids[2]},${ids[3]}`, { token: t.tokens.alice })).body,
    ).toBe(true);
    const left = await t.call("POST", "/view/count", { body: { query: { id: { $in: ids } } } });
    expect(left.body).toBe(0);
  });

  it("views with projection (CHIME's _id: false too), skip and limit, and counts", async () => {
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [1, 2, 3, 4, 5].map((i) => aWork({ pipeline: "viewed", event: [i] })),
    });
    const page = await t.call("POST", "/view", {
      body: {
        query: { pipeline: "viewed" },
        projection: { _id: false, event: true },
        skip: 1,
        limit: 2,
      },
    });
    const works = page.body as Record<string, unknown>[];
    expect(works).toHaveLength(2);
    // `_id: false` in an inclusion leaves `id` out, as CHIME's server did; in id order, skip 1.
    expect(works).toEqual([{ event: [2] }, { event: [3] }]);
    const count = await t.call("POST", "/view/count", {
      body: { query: { pipeline: "viewed", event: { $in: [1, 2] } } },
    });
    expect(count.body).toBe(2);
  });

  it("reports status, pipelines and per-pipeline details", async () => {
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "stats" }), aWork({ pipeline: "stats" })],
    });
    await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline: "stats" } });
    const details = await t.call("GET", "/status/details/stats", { token: t.tokens.alice });
    expect(details.body).toMatchObject({ total: 2, queued: 1, running: 1, success: 0, failure: 0 });
    const pipelines = await t.call("GET", "/status/pipelines", { token: t.tokens.alice });
    expect(pipelines.body).toEqual(expect.arrayContaining(["stats", "fit", "viewed"]));
    const status = (await t.call("GET", "/status", { token: t.tokens.alice })).body as Record<
      string,
      number
    >;
    expect(status.total).toBe(
      Object.entries(status)
        .filter(([k]) => k !== "total")
        .reduce((a, [, n]) => a + n, 0),
    );
    expect(status.running).toBeGreaterThanOrEqual(1);
  });

  it("serves /livez, /readyz and /openapi.json without a token, /metrics with one", async () => {
    expect((await t.call("GET", "/livez", { token: null })).status).toBe(200);
    expect((await t.call("GET", "/readyz", { token: null })).status).toBe(200);
    const metrics = await t.call("GET", "/metrics", { token: t.token("prometheus", ["metrics"]) });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("buckets_http_request_duration_seconds_bucket");
    expect(metrics.body).toMatch(/buckets_works\{pipeline="stats",status="queued"\} 1/);
    expect(metrics.body).toMatch(/buckets_deposits_total \d+/);
    expect(metrics.body).toMatch(/process_resident_memory_bytes/);
    const openapi = (await t.call("GET", "/openapi.json", { token: null })).body as {
      openapi: string;
      paths: object;
      components: { schemas: { Work: { properties: object } } };
    };
    expect(openapi.openapi).toBe("3.1.0");
    expect(Object.keys(openapi.paths)).toEqual(
      expect.arrayContaining(["/work", "/work/withdraw", "/view", "/status/details/{pipeline}"]),
    );
    expect(Object.keys(openapi.components.schemas.Work.properties)).toEqual(
      expect.arrayContaining(["pipeline", "priority", "notify"]),
    );
  });

  it("accepts a CHIME payload: nulls for absent fields, config.archive.logs and config.metrics", async () => {
    const chime = chimeWork("chime-pipe");
    const got = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [chime],
    });
    expect(got.status).toBe(200);
    const [work] = (
      await t.call("POST", "/view", { body: { query: { id: (got.body as string[])[0] } } })
    ).body as Record<string, unknown>[];
    expect(work).toMatchObject({
      priority: 3,
      timeout: 3600,
      retries: 2,
      status: "queued",
      config: { archive: { logs: "move" }, metrics: false },
    });
  });
});
