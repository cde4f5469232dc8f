import { afterAll, describe, expect, it } from "vitest";
import { testDb } from "./support/db.js";

describe("the test run's MongoDB", () => {
  const ready = testDb(import.meta.filename);
  afterAll(async () => (await ready).client.close());

  it("writes a document and reads it back", async () => {
    const { db } = await ready;
    const { insertedId } = await db.collection("probe").insertOne({ hello: "world", n: 1 });
    const found = await db.collection("probe").findOne({ _id: insertedId });
    expect(found).toMatchObject({ hello: "world", n: 1 });
  });

  it("gives this file a database of its own", async () => {
    const { db } = await ready;
    expect(db.databaseName).toMatch(/^t_mongo_/);
  });
});
