import type { BucketsClient, StoredWork } from "@workflow/work";
import { createLogger, createReporter, toUpdate } from "@workflow/worker";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Stack, startStack } from "../support/stack.js";

/**
 * The service checks a PUT of outcomes as a whole; the worker splits a refused batch so that one
 * bad outcome never drops the others, and reports the bad one as a failure that says why.
 */

let stack: Stack;
let admin: BucketsClient;
let worker: BucketsClient;
const logger = createLogger("silent");

beforeAll(async () => {
  stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  admin = stack.client();
  worker = stack.client({ user: "node", scopes: ["work:withdraw"], workerId: "node/1/w" });
});

afterAll(async () => {
  await stack.close();
});

async function claim(pipeline: string, n: number): Promise<StoredWork[]> {
  await admin.deposit(
    Array.from({ length: n }, (_, i) => ({
      pipeline,
      site: "local",
      user: "admin",
      retries: 0,
      // Claimed and reported by the test itself: the command never runs.
      command: ["true"],
      parameters: { i },
    })),
  );
  const claimed = await worker.withdraw({ pipeline }, { count: n });
  expect(claimed).toHaveLength(n);
  return claimed;
}

/** Every work's success, with `results(work)`, reported at once through one reporter. */
function reportAll(
  works: StoredWork[],
  results: (work: StoredWork) => Record<string, unknown>,
): Promise<boolean[]> {
  const reporter = createReporter(worker);
  return Promise.all(
    works.map((work) =>
      reporter.report(work, toUpdate(work, { status: "success", results: results(work) }), logger),
    ),
  );
}

it("20 outcomes in one batch, one with a $ key in its results: 19 land, the 20th fails saying why", {
  timeout: 30_000,
}, async () => {
  const works = await claim("split", 20);
  const poisoned = works[13] as StoredWork;
  const recorded = await reportAll(works, (work) =>
    work === poisoned ? { $where: "sleep(1000)" } : { n: work.parameters?.i },
  );
  // The poisoned outcome's stand-in (a failure) was recorded too.
  expect(recorded.every(Boolean)).toBe(true);

  const stored = new Map((await admin.view({ pipeline: "split" })).map((w) => [w.id, w]));
  for (const work of works) {
    if (work === poisoned) continue;
    expect(stored.get(work.id)).toMatchObject({
      status: "success",
      attempt: 1,
      results: { n: work.parameters?.i },
    });
  }
  const bad = stored.get(poisoned.id);
  expect(bad?.status).toBe("failure");
  expect(bad?.results?.error).toMatch(/the service refused this work's outcome/);
  expect(bad?.results?.error).toMatch(/\$where/);
});

it("a work deleted while it ran drops only its own outcome", { timeout: 30_000 }, async () => {
  const works = await claim("deleted", 5);
  const gone = works[2] as StoredWork;
  await admin.delete([gone.id]);
  const recorded = await reportAll(works, () => ({ ok: true }));
  expect(recorded).toEqual(works.map((w) => w !== gone));
  const stored = await admin.view({ pipeline: "deleted" });
  expect(stored).toHaveLength(4);
  for (const work of stored)
    expect(work).toMatchObject({ status: "success", results: { ok: true } });
});

it("refusals of two causes in one batch: each outcome goes by its own code", {
  timeout: 30_000,
}, async () => {
  // The service answers 409 for the batch (a 404 and a 400 at once); the codes of its items say
  // that one work is gone (dropped) and one outcome is unwritable (a failure says why).
  const works = await claim("mixed", 5);
  const gone = works[1] as StoredWork;
  const poisoned = works[3] as StoredWork;
  await admin.delete([gone.id]);
  const recorded = await reportAll(works, (work) =>
    work === poisoned ? { $where: "sleep(1000)" } : { ok: true },
  );
  expect(recorded).toEqual(works.map((w) => w !== gone));
  const stored = new Map((await admin.view({ pipeline: "mixed" })).map((w) => [w.id, w]));
  expect(stored.size).toBe(4);
  expect(stored.get(poisoned.id)).toMatchObject({ status: "failure" });
  expect(stored.get(poisoned.id)?.results?.error).toMatch(/refused this work's outcome.*\$where/);
  for (const work of works.filter((w) => w !== gone && w !== poisoned))
    expect(stored.get(work.id)).toMatchObject({ status: "success", results: { ok: true } });
});
