import { hasRetriesLeft } from "@workflow/work";
import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { RETRIES_LEFT } from "../src/store/attempt.js";

/** Every combination a work can be in: attempts made, retries allowed, attempts not counted. */
const cases: { attempt: number; retries: number; uncounted?: number }[] = [];
for (let attempt = 0; attempt <= 8; attempt++)
  for (let retries = 0; retries <= 5; retries++)
    for (const uncounted of [undefined, 0, 1, 3])
      cases.push({ attempt, retries, ...(uncounted === undefined ? {} : { uncounted }) });

let mongo: MongoClient;
let db: Db;
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  await db.collection("rule").insertMany(cases.map((c, i) => ({ i, ...c })));
});
afterAll(() => mongo?.close());

describe("the retries-left rule", () => {
  it("says the same inside MongoDB (reaper, outcomes) as in the Work model (worker, metrics)", async () => {
    const rows = await db
      .collection("rule")
      .aggregate<{ left: boolean }>([
        { $sort: { i: 1 } },
        { $project: { _id: 0, left: RETRIES_LEFT } },
      ])
      .toArray();
    expect(rows.map((r) => r.left)).toEqual(cases.map((c) => hasRetriesLeft(c)));
    expect(rows.some((r) => r.left) && rows.some((r) => !r.left)).toBe(true);
  });
});
