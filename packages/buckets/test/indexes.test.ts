import type { Document } from "mongodb";
import { describe, expect, it } from "vitest";
import type { WorkDoc } from "../src/store/index.js";
import { ensureIndexes } from "../src/store/indexes.js";
import { aWork, useTestService } from "./support/service.js";

const { t, db } = useTestService(import.meta.filename, {}, { emptied: true });

/** How many keys each index of the works holds (mongod's own count, from `validate`). */
async function keysPerIndex(): Promise<Record<string, number>> {
  const validated = await db.command({ validate: "works" });
  return validated.keysPerIndex as Record<string, number>;
}

/** How many operations have used each index since it was built, and since when. */
async function indexStats(): Promise<Map<string, { ops: number; since: number }>> {
  const rows = await db
    .collection("works")
    .aggregate([{ $indexStats: {} }])
    .toArray();
  return new Map(
    rows.map((row: Document) => [
      row.name as string,
      { ops: Number(row.accesses.ops), since: (row.accesses.since as Date).getTime() },
    ]),
  );
}

describe("the works' indexes", () => {
  it("hold a work only while it matters to them: claims the queued, leases the running", async () => {
    const deposited = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [
        ...Array.from({ length: 3 }, () => aWork({ pipeline: "keys" })),
        ...Array.from({ length: 3 }, () => aWork({ pipeline: "keys", tags: ["gpu"], event: [7] })),
      ],
    });
    expect(deposited.status).toBe(200);
    const claimed = await t.call("POST", "/work/withdraw?count=4", {
      token: t.tokens.worker,
      body: { pipeline: "keys" },
    });
    const [a, b, c] = claimed.body as { id: string; attempt: number }[];
    const report = (work: typeof a, status: string) =>
      t.call("PUT", "/work", {
        token: t.tokens.worker,
        body: [{ id: work?.id, attempt: work?.attempt, status }],
      });
    expect((await report(a, "success")).status).toBe(200);
    expect((await report(b, "success")).status).toBe(200);
    expect((await report(c, "failure")).status).toBe(200); // retries left: a retry ahead

    // 2 queued (both tagged), 1 running, 2 succeeded, 1 failed with its retry ahead.
    expect(await keysPerIndex()).toMatchObject({
      claim_pipeline: 2,
      claim_pipeline_site: 2,
      claim_user: 2,
      claim_tags: 2,
      claim_event: 2,
      claim_config_parent: 0,
      lease: 1,
      retry: 1,
      stop_status_pipeline: 3,
      // Not partial: every work, whatever its status.
      pipeline_status: 6,
      stale: 6,
    });
  });

  it("serve the reaper's lapsed leases and the retries that are due", async () => {
    const before = await indexStats();
    const now = Date.now() / 1000;
    await t.service.ctx.store.lapse(now);
    await t.service.ctx.store.retryDue(now);
    const after = await indexStats();
    expect(after.get("lease")?.ops).toBeGreaterThan(before.get("lease")?.ops ?? 0);
    expect(after.get("retry")?.ops).toBeGreaterThan(before.get("retry")?.ops ?? 0);
  });

  it("an index of an older shape is rebuilt at start; one of the same shape is left as it is", async () => {
    const works = db.collection("works");
    await works.dropIndex("claim_pipeline");
    // As before the claim indexes were partial.
    await works.createIndex(
      { status: 1, pipeline: 1, priority: -1, received: 1, _id: 1, notBefore: 1 },
      { name: "claim_pipeline" },
    );
    const before = await indexStats();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await ensureIndexes(db.collection<WorkDoc>("works"));
    const indexes = await works.listIndexes().toArray();
    expect(indexes.find((index) => index.name === "claim_pipeline")).toMatchObject({
      key: { pipeline: 1, priority: -1, received: 1, _id: 1, notBefore: 1 },
      partialFilterExpression: { status: "queued" },
    });
    const after = await indexStats();
    for (const [name, { since }] of after) {
      if (name === "claim_pipeline") expect(since).toBeGreaterThan(before.get(name)?.since ?? 0);
      else expect(since, name).toBe(before.get(name)?.since);
    }
  });
});
