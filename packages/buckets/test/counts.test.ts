import { describe, expect, it } from "vitest";
import { stages } from "./support/plans.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename, {}, { emptied: true });

async function deposit(works: Record<string, unknown>[]): Promise<string[]> {
  const answer = await t.call("POST", "/work?return_ids=true", {
    token: t.tokens.alice,
    body: works,
  });
  expect(answer.status).toBe(200);
  return answer.body as string[];
}

async function withdraw(pipeline: string): Promise<{ id: string; attempt: number }> {
  const got = await t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  expect(got.status).toBe(200);
  return got.body as { id: string; attempt: number };
}

async function report(work: { id: string; attempt: number }, status: string): Promise<void> {
  const answer = await t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id: work.id, attempt: work.attempt, status }],
  });
  expect(answer.status).toBe(200);
}

const get = async (path: string, token = t.tokens.admin) =>
  (await t.call("GET", path, { token })).body as Record<string, number>;

/** The `buckets_works` gauge's samples, as `pipeline/status` -> value. */
async function gauge(): Promise<Record<string, number>> {
  const text = (await t.call("GET", "/metrics")).body as string;
  const samples: Record<string, number> = {};
  for (const [, labels, value] of text.matchAll(/^buckets_works\{([^}]*)\} (\d+)$/gm)) {
    const pipeline = /pipeline="([^"]*)"/.exec(labels as string)?.[1];
    const status = /status="([^"]*)"/.exec(labels as string)?.[1];
    samples[`${pipeline}/${status}`] = Number(value);
  }
  return samples;
}

describe("counts", () => {
  it("follow every change at once: /status, /status/details and /metrics agree", async () => {
    await deposit(Array.from({ length: 5 }, () => aWork({ pipeline: "count-a" })));
    await deposit(Array.from({ length: 3 }, () => aWork({ pipeline: "count-b" })));
    const first = await withdraw("count-a");
    const second = await withdraw("count-a");
    await report(first, "success");
    await report(second, "failure");
    const [cancelled] = await deposit([aWork({ pipeline: "count-b" })]);
    expect(
      (await t.call("POST", `/work/${cancelled}/cancel`, { token: t.tokens.alice })).status,
    ).toBe(200);

    expect(await get("/status/details/count-a")).toEqual({
      total: 5,
      queued: 3,
      running: 0,
      success: 1,
      failure: 1,
    });
    expect(await get("/status/details/count-b?all=true")).toMatchObject({
      total: 4,
      queued: 3,
      cancelled: 1,
      running: 0,
    });
    const status = await get("/status");
    expect(status).toMatchObject({ total: 9, queued: 6, success: 1, failure: 1, cancelled: 1 });
    expect(await gauge()).toMatchObject({
      "count-a/queued": 3,
      "count-a/success": 1,
      "count-a/failure": 1,
      "count-b/queued": 3,
      "count-b/cancelled": 1,
    });

    // Removed works leave the counts at once too.
    const [gone] = await deposit([aWork({ pipeline: "count-b" })]);
    expect((await get("/status/details/count-b")).queued).toBe(4);
    await t.call("DELETE", `/work?ids=${gone}`, { token: t.tokens.admin });
    expect((await get("/status/details/count-b")).queued).toBe(3);
  });

  it("count only the pipelines a token may read", async () => {
    const token = t.token("carol", ["work:read"], ["count-b"]);
    expect(await get("/status", token)).toMatchObject({ total: 4, queued: 3, cancelled: 1 });
    expect((await t.call("GET", "/status/details/count-a", { token })).status).toBe(403);
  });

  it("read no works: one covered index scan, no document examined", async () => {
    const explained = await t.service.ctx.store.explainCounts();
    expect(explained).toHaveLength(1);
    for (const plan of explained) {
      const names = stages(plan);
      const where = JSON.stringify(plan);
      expect(JSON.stringify(plan).match(/"totalDocsExamined":(\d+)/)?.[1], where).toBe("0");
      expect(names, where).not.toContain("COLLSCAN");
      expect(names, where).not.toContain("FETCH");
      expect(names, where).toContain("IXSCAN");
    }
  });
});
