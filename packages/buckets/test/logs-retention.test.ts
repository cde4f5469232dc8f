import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/** Logs leave with their works: by retention's TTL, and when a work is deleted. */

let t: TestService;
let mongo: MongoClient;
let db: Db;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_RETENTION_DAYS: "2" });
  ({ client: mongo, db } = await testDb(import.meta.filename, "", { drop: false }));
});
afterAll(async () => {
  await mongo?.close();
  await t?.close();
});

const logs = () => db.collection("logs");

describe("logs under retention", () => {
  it("a TTL index removes log batches the retention's days after they arrived", async () => {
    const indexes = await logs().listIndexes().toArray();
    const ttl = indexes.find((index) => index.expireAfterSeconds !== undefined);
    expect(ttl).toMatchObject({ key: { at: 1 }, expireAfterSeconds: 2 * 86_400 });
  });

  it("deleting a work deletes its logs", async () => {
    const deposited = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "kept" })],
    });
    const id = (deposited.body as string[])[0] as string;
    await t.call("POST", "/work/withdraw?lease=60", {
      token: t.tokens.worker,
      body: { pipeline: "kept" },
    });
    const appended = await t.call("POST", `/work/${id}/logs?attempt=1`, {
      token: t.tokens.worker,
      body: { lines: [{ t: Date.now(), stream: "stdout", text: "soon gone" }] },
    });
    expect(appended.status).toBe(200);
    expect(await logs().countDocuments({})).toBe(1);
    expect((await t.call("DELETE", `/work?ids=${id}`, { token: t.tokens.alice })).status).toBe(200);
    expect(await logs().countDocuments({})).toBe(0);
    expect((await t.call("GET", `/work/${id}/logs`)).status).toBe(404);
  });
});
