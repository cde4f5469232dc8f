import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BucketsClient, ResultsClient, transferFinished } from "@workflow/work";
import { type Db, type MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { type Owned, own, WORKFLOW_CLI } from "../../../test/support/processes.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * Moving finished works from the queue to the results store with this project's own client
 * (`workflow results transfer` calls the same transferFinished), while the service is stopped
 * between keeping a round in results and deleting it from the queue, then started again,
 * and `workflow results transfer` killed part-way. Run again, it finishes with every work kept
 * once and none left in the queue.
 */

const FINISHED = 2_000;
const NOT_KEPT = 50;
const QUEUED = 20;
const PIPELINE = "transfer-many";

let t: TestService;
let db: Db;
let mongo: MongoClient;
const home = mkdtempSync(join(tmpdir(), "results-transfer-"));
beforeAll(async () => {
  ({ client: mongo, db } = await testDb(import.meta.filename));
  t = await startTestService(import.meta.filename);
});
afterAll(async () => {
  for (const child of children) await child.stop();
  await t.close().catch(() => undefined);
  await mongo.close();
  rmSync(home, { recursive: true, force: true });
});

/** The project's clients against the running service; retries short, so a stopped one fails fast. */
const clients = () => {
  const options = { baseUrls: [t.url], token: t.tokens.admin, retry: { budgetMs: 300 } };
  return { buckets: new BucketsClient(options), results: new ResultsClient(options) };
};
const restart = async () => {
  t = await startTestService(import.meta.filename);
};
const waitFor = async (condition: () => Promise<boolean>) => {
  while (!(await condition())) await new Promise((resolve) => setImmediate(resolve));
};
/** `workflow ...` as its own process, against the running service. */
const children: Owned[] = [];
const cli = (args: string[]) => {
  const child = own(
    process.execPath,
    [WORKFLOW_CLI, "--url", t.url, "--token", t.tokens.admin, ...args],
    { HOME: home },
  );
  children.push(child);
  return child;
};
const kept = () => db.collection("results").countDocuments({ pipeline: PIPELINE });

it("transfers 2,000 finished works across two crashes: none lost, none doubled", {
  timeout: 120_000,
}, async () => {
  const works = [
    ...Array.from({ length: FINISHED }, (_, i) => aWork({ pipeline: PIPELINE, event: [i] })),
    ...Array.from({ length: NOT_KEPT }, () =>
      aWork({ pipeline: PIPELINE, config: { archive: { results: false } } }),
    ),
    ...Array.from({ length: QUEUED }, () => aWork({ pipeline: PIPELINE })),
  ];
  const deposited = await t.call("POST", "/work?return_ids=true", { body: works });
  expect(deposited.status).toBe(200);
  const ids = deposited.body as string[];
  const finishedIds = ids.slice(0, FINISHED);
  // Finished as workers leave them: half successes, half final failures (no retry ahead).
  const works$ = db.collection("works");
  const byIds = (list: string[]) => ({ _id: { $in: list.map((id) => new ObjectId(id)) } });
  await works$.updateMany(byIds(ids.slice(0, FINISHED / 2)), {
    $set: { status: "success", attempt: 1, stop: 10, results: { ok: true } },
  });
  await works$.updateMany(byIds(ids.slice(FINISHED / 2, FINISHED + NOT_KEPT)), {
    $set: { status: "failure", attempt: 3, stop: 10, results: { error: "boom" } },
  });

  // Crash 1: the service stops after the third round is kept in results, before its delete.
  let rounds = 0;
  const first = clients();
  const crashed = transferFinished(first.buckets, first.results, {
    batch: 200,
    onKept: async () => {
      if (++rounds === 3) await t.close();
    },
  });
  await expect(crashed).rejects.toThrow();
  // Rounds go in id order: the first two left the queue; the third is kept in results and still
  // in the queue. Nothing was lost in between.
  expect(await kept()).toBe(600);
  expect(await works$.countDocuments(byIds(finishedIds.slice(0, 400)))).toBe(0);
  expect(await works$.countDocuments(byIds(finishedIds.slice(400, 600)))).toBe(200);

  // Crash 2: started again, the service keeps running, and `workflow results transfer` itself is
  // killed part-way.
  await restart();
  const killed = cli(["results", "transfer", "--batch", "100"]);
  await waitFor(async () => (await kept()) >= 1_200);
  await killed.stop("SIGKILL");
  expect(killed.child.signalCode, "killed while it was still transferring").toBe("SIGKILL");

  // Run again, the CLI transfers to the end.
  const last = cli(["--json", "results", "transfer", "--batch", "200"]);
  expect(await last.exited, last.output()).toBe(0);
  expect(JSON.parse(last.output())).toMatchObject({
    kept: expect.any(Number),
    dropped: expect.any(Number),
  });

  // Every finished work is in results exactly once, as the queue had it; the queue keeps only
  // what had not finished.
  const stored = await db
    .collection("results")
    .find({ pipeline: PIPELINE }, { projection: { _id: 1, status: 1, event: 1 } })
    .toArray();
  const storedIds = stored.map((doc) => doc._id.toHexString());
  expect(storedIds).toHaveLength(FINISHED);
  expect(new Set(storedIds).size).toBe(FINISHED);
  expect([...storedIds].sort()).toEqual([...finishedIds].sort());
  expect(stored.filter((doc) => doc.status === "success")).toHaveLength(FINISHED / 2);
  expect(await works$.countDocuments({ pipeline: PIPELINE })).toBe(QUEUED);
  expect(await works$.countDocuments({ pipeline: PIPELINE, status: "queued" })).toBe(QUEUED);
  // What the CLI shows: the same counts through the results store's own routes.
  const ls = cli(["--json", "results", "ls"]);
  expect(await ls.exited, ls.output()).toBe(0);
  expect(JSON.parse(ls.output())).toMatchObject({ [PIPELINE]: FINISHED });
  const count = cli(["results", "count", PIPELINE, "--status", "failure"]);
  expect(await count.exited, count.output()).toBe(0);
  expect(count.output().trim()).toBe(String(FINISHED / 2));
  // Given the store's base URL as CHIME's workspace names it, the CLI finds the same results.
  const view = cli([
    "--json",
    "results",
    "--results-url",
    `${t.url}/results-service`,
    "view",
    PIPELINE,
    "--event",
    "7",
    "--event",
    "1999",
  ]);
  expect(await view.exited, view.output()).toBe(0);
  const shown = JSON.parse(view.output()) as { id: string; event: number[] }[];
  expect(shown.map((work) => work.event)).toEqual([[7], [1999]]);
  expect(shown.map((work) => work.id)).toEqual([finishedIds[7], finishedIds[1999]]);
});
