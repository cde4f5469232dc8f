import { type Db, type MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * Retention and the transfer agree (BUCKETS_RETENTION_AWAITS_TRANSFER): retention never dates a
 * work bound for the results store, so the TTL index cannot remove it before the transfer has
 * kept it there; every other finished work is dated as before.
 */

let t: TestService;
let db: Db;
let mongo: MongoClient;
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  t = await startTestService(import.meta.filename, {
    BUCKETS_RETENTION_DAYS: "1",
    BUCKETS_RETENTION_AWAITS_TRANSFER: "true",
    BUCKETS_REAP_SECONDS: "0.2",
  });
});
afterAll(async () => {
  await t.close();
  await mongo.close();
});

it("dates finished works for removal, except those the transfer keeps in results", async () => {
  const works = [
    aWork({ pipeline: "ret", config: { archive: { results: true } } }),
    aWork({ pipeline: "ret", config: { archive: { results: true } } }),
    aWork({ pipeline: "ret", config: { archive: { results: false } } }),
    aWork({ pipeline: "ret", config: { archive: { results: true } } }),
  ];
  const ids = (await t.call("POST", "/work?return_ids=true", { body: works })).body as string[];
  const oid = (i: number) => new ObjectId(ids[i]);
  const finish = (i: number, status: string) =>
    db.collection("works").updateOne({ _id: oid(i) }, { $set: { status, attempt: 3, stop: 10 } });
  await finish(0, "success");
  await finish(1, "failure");
  await finish(2, "success");
  // Cancelled works are not transferred: retention removes them as before.
  await finish(3, "cancelled");
  const dated = async (i: number) =>
    (await db.collection("works").findOne({ _id: oid(i) }))?.finishedAt !== undefined;
  // One pass dates every work it dates at once: wait for the one it must date.
  while (!(await dated(2))) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await dated(3)).toBe(true);
  expect(await dated(0)).toBe(false);
  expect(await dated(1)).toBe(false);
});
