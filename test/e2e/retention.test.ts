import type { BucketsClient } from "@workflow/work";
import type { MongoClient } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../support/db.js";
import { eventually, type Stack, startStack } from "../support/stack.js";

/**
 * BUCKETS_RETENTION_DAYS: finished works are removed by a TTL index once they stopped that many
 * days ago. Time moves by backdating `stop` in the outcomes, and MongoDB's TTL monitor is made
 * to pass every second instead of every minute.
 */

const DAY = 86_400;
let mongo: MongoClient;

beforeAll(async () => {
  ({ client: mongo } = await testDb(import.meta.filename, "admin", { drop: false }));
  await mongo.db("admin").command({ setParameter: 1, ttlMonitorSleepSecs: 1 });
});

afterAll(async () => {
  await mongo?.db("admin").command({ setParameter: 1, ttlMonitorSleepSecs: 60 });
  await mongo?.close();
});

/** Deposits one work, claims it, and reports `status` as if it stopped `daysAgo` days ago. */
async function finished(
  client: BucketsClient,
  pipeline: string,
  status: "success" | "failure",
  daysAgo: number,
  retries = 0,
): Promise<string> {
  const [id] = (await client.deposit(
    [{ pipeline, site: "local", user: "admin", command: ["true"], retries }],
    { returnIds: true },
  )) as string[];
  const work = await client.withdraw({ pipeline });
  if (!work || work.id !== id) throw new Error("claimed another work");
  await client.update([
    {
      id: work.id,
      attempt: work.attempt,
      status,
      stop: Date.now() / 1000 - daysAgo * DAY,
      ...(status === "failure" ? { results: { error: "it failed" } } : {}),
    },
  ]);
  return id as string;
}

async function exists(client: BucketsClient, id: string): Promise<boolean> {
  return (await client.view({ id })).length > 0;
}

describe("retention", () => {
  let stack: Stack | undefined;
  afterAll(async () => {
    await stack?.close();
  });

  it("removes finished works older than BUCKETS_RETENTION_DAYS; recent, queued and retrying ones stay", {
    timeout: 60_000,
  }, async () => {
    stack = await startStack(
      import.meta.filename,
      { BUCKETS_RETENTION_DAYS: "1", BUCKETS_REAP_SECONDS: "1" },
      "on",
    );
    const { db } = await testDb(import.meta.filename, "on", { drop: false });
    const index = (await db.collection("works").listIndexes().toArray()).find(
      (i) => i.name === "retention",
    );
    expect(index).toMatchObject({ key: { finishedAt: 1 }, expireAfterSeconds: DAY });
    const client = stack.client();
    const oldSuccess = await finished(client, "keep-a", "success", 3);
    const oldFailure = await finished(client, "keep-b", "failure", 2);
    const recent = await finished(client, "keep-c", "success", 0.5);
    const retrying = await finished(client, "keep-d", "failure", 3, 2);
    const [queued] = (await client.deposit(
      [{ pipeline: "keep-e", site: "local", user: "admin", command: ["true"] }],
      { returnIds: true },
    )) as string[];

    await eventually(
      async () =>
        !(await exists(client, oldSuccess)) && !(await exists(client, oldFailure))
          ? true
          : undefined,
      45_000,
      500,
    );
    expect(await exists(client, recent)).toBe(true);
    expect(await exists(client, retrying)).toBe(true);
    expect(await exists(client, queued as string)).toBe(true);
    // What the API shows carries none of the service's bookkeeping.
    const [shown] = await client.view({ id: recent });
    expect(shown).not.toHaveProperty("finishedAt");
  });

  it("without BUCKETS_RETENTION_DAYS the TTL index is dropped: nothing is removed", async () => {
    await stack?.close();
    stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "1" }, "on");
    const { db } = await testDb(import.meta.filename, "on", { drop: false });
    const names = (await db.collection("works").listIndexes().toArray()).map((i) => i.name);
    expect(names).not.toContain("retention");
    expect(names).toContain("_id_");
  });
});
