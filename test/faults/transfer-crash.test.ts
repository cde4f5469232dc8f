import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BucketsClient } from "@workflow/work";
import { type Db, type MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testDb } from "../support/db.js";
import {
  freePort,
  type Owned,
  own,
  serviceProcess,
  WORKFLOW_CLI,
  waitForHttp,
} from "../support/processes.js";
import { eventually, type Stack, startStack, TEST_SECRET } from "../support/stack.js";

/**
 * `workflow results transfer` moving 10,000 finished works while the service (its own process)
 * is killed with SIGKILL in the middle and started again on the same database: the transfer
 * carries on through the outage, and every finished work ends in results exactly once and gone
 * from the queue.
 */

const FINISHED = 10_000;
const QUEUED = 100;
const PIPELINE = "transfer-crash";

// The in-process stack only mints tokens; the service under test is a process.
let stack: Stack;
let service: Owned | undefined;
let transfer: Owned | undefined;
let mongo: MongoClient;
let db: Db;
let uri: string;
const home = mkdtempSync(join(tmpdir(), "transfer-crash-"));
beforeAll(async () => {
  ({ client: mongo, db, uri } = await testDb(import.meta.filename));
  stack = await startStack(import.meta.filename, {}, "tokens");
});
afterAll(async () => {
  await transfer?.stop();
  await service?.stop();
  await stack.close();
  await mongo.close();
  rmSync(home, { recursive: true, force: true });
});

it("kill -9 of the service in the middle of transferring 10,000 works: none lost, none doubled", {
  timeout: 300_000,
}, async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = { MONGODB_URI: uri, BUCKETS_JWT_SECRET: TEST_SECRET };
  service = serviceProcess(port, env);
  await waitForHttp(`${url}/readyz`);
  const token = stack.token("admin", ["admin"]);
  const client = new BucketsClient({ baseUrls: [url], token, env: {} });

  const ids: string[] = [];
  for (let at = 0; at < FINISHED + QUEUED; at += 2_000) {
    const n = Math.min(2_000, FINISHED + QUEUED - at);
    const works = Array.from({ length: n }, (_, i) => ({
      pipeline: PIPELINE,
      site: "s",
      user: "admin",
      command: ["true"],
      event: [at + i],
    }));
    ids.push(...(await client.deposit(works, { returnIds: true })));
  }
  // Finished as workers leave them: successes and final failures; the last ones stay queued.
  const works = db.collection("works");
  const byIds = (list: string[]) => ({ _id: { $in: list.map((id) => new ObjectId(id)) } });
  await works.updateMany(byIds(ids.slice(0, FINISHED / 2)), {
    $set: { status: "success", attempt: 1, stop: 10, results: { ok: true } },
  });
  await works.updateMany(byIds(ids.slice(FINISHED / 2, FINISHED)), {
    $set: { status: "failure", attempt: 3, stop: 10, results: { error: "boom" } },
  });
  const finishedIds = ids.slice(0, FINISHED);
  const kept = () => db.collection("results").countDocuments({ pipeline: PIPELINE });

  transfer = own(
    process.execPath,
    [
      WORKFLOW_CLI,
      "--url",
      url,
      "--token",
      token,
      "--json",
      "results",
      "transfer",
      "--batch",
      "250",
    ],
    { HOME: home },
  );
  // In the middle: some rounds kept, many still to go.
  await eventually(async () => ((await kept()) >= FINISHED / 3 ? true : undefined), 120_000, 20);
  await service.stop("SIGKILL");
  expect(service.child.signalCode).toBe("SIGKILL");
  const keptAtKill = await kept();
  expect(keptAtKill).toBeLessThan(FINISHED);
  service = serviceProcess(port, env);
  await waitForHttp(`${url}/readyz`);

  // The transfer carried on through the outage (its client retries) and finished.
  expect(await transfer.exited, transfer.output()).toBe(0);
  expect(transfer.child.signalCode).toBeNull();

  const stored = await db
    .collection("results")
    .find({ pipeline: PIPELINE }, { projection: { _id: 1, status: 1 } })
    .toArray();
  const storedIds = stored.map((doc) => doc._id.toHexString());
  expect(storedIds).toHaveLength(FINISHED);
  expect(new Set(storedIds).size).toBe(FINISHED);
  expect(new Set(storedIds)).toEqual(new Set(finishedIds));
  expect(stored.filter((doc) => doc.status === "success")).toHaveLength(FINISHED / 2);
  expect(await works.countDocuments({ pipeline: PIPELINE })).toBe(QUEUED);
  expect(await works.countDocuments({ pipeline: PIPELINE, status: "queued" })).toBe(QUEUED);

  // The guard against doubles is the store's: a result is keyed by its work's id, so the same
  // works kept again (a round repeated after the crash) stay one each.
  const again = await fetch(`${url}/results-service/results`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-access-token": token },
    body: JSON.stringify(
      stored.slice(0, 3).map((doc) => ({
        id: doc._id.toHexString(),
        pipeline: PIPELINE,
        site: "s",
        user: "admin",
        command: ["true"],
        status: doc.status,
      })),
    ),
  });
  expect(again.status).toBe(200);
  expect(await kept()).toBe(FINISHED);
});
