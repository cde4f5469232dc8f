import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";

let stack: Stack;
let dir: string;
const workers: Owned[] = [];
beforeAll(async () => {
  stack = await startStack(import.meta.filename, {
    BUCKETS_LEASE_SECONDS: "2",
    BUCKETS_REAP_SECONDS: "1",
  });
  dir = mkdtempSync(join(tmpdir(), "crash-"));
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await stack.close();
  rmSync(dir, { recursive: true, force: true });
});

it("kill -9 workers again and again: every work ends in success, none is lost", {
  timeout: 240_000,
}, async () => {
  const total = 2_000;
  const log = join(dir, "done.log");
  const client = stack.client();
  const ids: string[] = [];
  for (let at = 0; at < total; at += 1_000) {
    const batch = Array.from({ length: 1_000 }, () => ({
      pipeline: "crash",
      site: "s",
      user: "admin",
      command: [`echo {{tag}} >> ${log}`],
      retries: 5,
      timeout: 60,
    }));
    const batchIds = await client.deposit(
      batch.map((w, i) => ({ ...w, parameters: { tag: `w${at + i}` } })),
      { returnIds: true },
    );
    ids.push(...batchIds);
  }
  const token = stack.token("crash-worker", ["work:withdraw", "work:read"]);
  const start = (n: number) =>
    workerProcess(
      ["crash", "--url", stack.url, "--concurrency", "4", "--name", `w${n}`, "--sleep", "0.2"],
      { WORKFLOW_TOKEN: token },
      dir,
    );
  for (let n = 0; n < 4; n++) workers[n] = start(n);

  // Kill one worker each time more works have succeeded, and start a new one in its place, while
  // works remain.
  let kills = 0;
  const succeeded = () => client.count({ pipeline: "crash", status: "success" });
  while (
    (await client.count({ pipeline: "crash", status: { $ne: "success" } })) > 0 &&
    kills < 12
  ) {
    const before = await succeeded();
    await eventually(async () => ((await succeeded()) > before ? true : undefined), 60_000, 250);
    const n = kills % 4;
    await workers[n]?.stop("SIGKILL");
    workers[n] = start(n);
    kills++;
  }
  await eventually(
    async () =>
      (await client.count({ pipeline: "crash", status: "success" })) === total ? true : undefined,
    180_000,
    500,
  );

  const lines = readFileSync(log, "utf8").trim().split("\n");
  const done = new Set(lines);
  // Each work did its job: every tag is in the file, and nothing else is.
  expect(done.size).toBe(total);
  expect([...done].every((tag) => /^w\d+$/.test(tag))).toBe(true);
  // At least once: a tag twice means its first attempt was killed after the command ran.
  const twice = lines.length - done.size;
  const retried = await client.count({ pipeline: "crash", attempt: { $gt: 1 } });
  expect(twice).toBeLessThanOrEqual(retried);
  console.log(`crash: ${kills} kills, ${retried} works re-run, ${twice} ran twice`);
  expect(kills).toBeGreaterThan(0);
});
