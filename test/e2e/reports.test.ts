import type { BucketsClient, StoredWork } from "@workflow/work";
import { createLogger, createReporter, toUpdate } from "@workflow/worker";
import { type Db, type MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testDb } from "../support/db.js";
import { type Stack, startStack } from "../support/stack.js";

/** The worker's reports: outcomes that finish together share one PUT, and a zombie's never blocks the rest. */

let stack: Stack;
let mongo: MongoClient;
let db: Db;
let admin: BucketsClient;
let worker: BucketsClient;
const logger = createLogger("silent");

beforeAll(async () => {
  // A long reap period: the test ends a lease itself, through the audit.
  ({ client: mongo, db } = await testDb(import.meta.filename));
  stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  admin = stack.client();
  worker = stack.client({ user: "node", scopes: ["work:withdraw"], workerId: "node/1/w" });
});
afterAll(async () => {
  await stack.close();
  await mongo.close();
});

/** How many PUT /work requests the service has answered, by status, from its own metrics. */
async function puts(): Promise<Record<string, number>> {
  const headers = { authorization: `Bearer ${stack.token("prometheus", ["metrics"])}` };
  const text = await (await fetch(`${stack.url}/metrics`, { headers })).text();
  const counts: Record<string, number> = {};
  for (const [, status, n] of text.matchAll(
    /buckets_http_request_duration_seconds_count\{method="PUT",route="\/work",status="(\d+)"\} (\d+)/g,
  )) {
    counts[status as string] = Number(n);
  }
  return counts;
}

it("three outcomes reported together go in one PUT; the zombie's is refused, the others recorded", async () => {
  const ids = await admin.deposit(
    Array.from({ length: 3 }, (_, n) => ({
      pipeline: "reports",
      site: "local",
      user: "admin",
      retries: 1,
      // Claimed and reported by the test itself: the command never runs.
      command: ["true"],
      parameters: { n },
    })),
    { returnIds: true },
  );
  const claimed = await worker.withdraw({ pipeline: "reports" }, { count: 3 });
  expect(claimed.map((w) => w.id)).toEqual(ids);
  const [first, zombie, last] = claimed as [StoredWork, StoredWork, StoredWork];

  // The second work's attempt ends behind its worker's back, and another worker takes it.
  const newer = await retake(zombie.id);
  expect(newer).toMatchObject({ id: zombie.id, attempt: 2 });

  const before = await puts();
  const reporter = createReporter(worker);
  const outcome = { status: "success" as const, results: { ok: true } };
  // Reported together: the first waits a moment for others, and all three share one PUT.
  const recorded = await Promise.all(
    [first, zombie, last].map((work) => reporter.report(work, toUpdate(work, outcome), logger)),
  );
  expect(recorded).toEqual([true, false, true]);
  const after = await puts();
  // One PUT: 409 for the zombie's outcome, while the other two were recorded.
  expect((after["200"] ?? 0) - (before["200"] ?? 0)).toBe(0);
  expect((after["409"] ?? 0) - (before["409"] ?? 0)).toBe(1);

  const stored = await admin.view({ pipeline: "reports" });
  const byId = new Map(stored.map((w) => [w.id, w]));
  expect(byId.get(first.id)).toMatchObject({ status: "success", results: { ok: true } });
  expect(byId.get(last.id)).toMatchObject({ status: "success", results: { ok: true } });
  expect(byId.get(zombie.id)).toMatchObject({ status: "running", attempt: 2 });
  expect(byId.get(zombie.id)?.results).toBeUndefined();
});

/** Ends the work's attempt as if it ran past its timeout, then claims it again as another worker. */
async function retake(id: string): Promise<StoredWork | null> {
  const works = db.collection("works");
  const past = Date.now() / 1000 - 60;
  const work = await works.findOne({ _id: new ObjectId(id) });
  await works.updateOne(
    { _id: new ObjectId(id) },
    { $set: { leaseUntil: past, start: past - Number(work?.timeout ?? 0) } },
  );
  // The first audit ends the attempt (a failure with a retry to come), the second queues it again.
  await admin.audit();
  await admin.audit();
  await works.updateOne({ _id: new ObjectId(id) }, { $set: { notBefore: past } });
  const other = stack.client({ user: "node2", scopes: ["work:withdraw"], workerId: "node/2/w" });
  return other.withdraw({ pipeline: "reports" });
}
