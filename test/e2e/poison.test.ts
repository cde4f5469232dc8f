import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * Poison works: input that makes starting a process throw (a NUL byte can reach no program) fails
 * that attempt with a clear error, and the worker lives on to run the next work.
 */

let stack: Stack;
const dir = useTempDir("poison-");
const owned: Owned[] = [];

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(join(dir, "jobs.mjs"), "export const echo = ({ text }) => ({ text });\n");
});

afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
});

afterAll(async () => {
  await stack?.close();
});

const NUL = "bad\u0000byte";

it("works with a NUL byte in a parameter fail one by one; the same worker process runs the good work too", {
  timeout: 60_000,
}, async () => {
  const pipeline = "poison";
  const poisons: Partial<WorkInput>[] = [
    { command: ["echo", "{{text}}"], parameters: { text: NUL } },
    { command: ["echo --text {{text}}"], parameters: { text: NUL } },
    { command: ["bash", "-c", "echo {{text}}"], parameters: { text: NUL } },
    { command: ["echo", "--text", "{{text}}"], parameters: { text: NUL } },
  ];
  const good: Partial<WorkInput> = { command: ["echo", "still here"] };
  const client = stack.client();
  const ids = await client.deposit(
    [
      ...poisons.map((p) => ({ pipeline, site: "local", user: "admin", retries: 0, ...p })),
      { pipeline, site: "local", user: "admin", ...good },
    ],
    { returnIds: true },
  );
  const worker = workerProcess(
    [pipeline, "--url", stack.url, "--lives", String(ids.length), "--sleep", "0.1"],
    { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]) },
    dir,
  );
  owned.push(worker);
  // The one process did every work and left as asked, not by a crash.
  expect(await worker.exited).toBe(0);

  const stored = await eventually(async () => {
    const works = await client.view({ pipeline });
    return works.every((w) => ["success", "failure"].includes(w.status)) ? works : undefined;
  }, 10_000);
  const byId = new Map(stored.map((w): [string, StoredWork] => [w.id, w]));
  for (const id of ids.slice(0, poisons.length)) {
    const work = byId.get(id);
    expect(work?.status).toBe("failure");
    expect(work?.results?.error).toMatch(/NUL byte/);
  }
  expect(byId.get(ids.at(-1) as string)).toMatchObject({
    status: "success",
    results: { stdout: "still here\n" },
  });
});

it("a function work whose parameters hold a NUL byte gets them as they are", async () => {
  const pipeline = "poison-fn";
  const client = stack.client();
  const [id] = await client.deposit(
    [
      {
        pipeline,
        site: "local",
        user: "admin",
        function: "./jobs.mjs#echo",
        parameters: { text: NUL },
      },
    ],
    { returnIds: true },
  );
  const worker = workerProcess(
    [pipeline, "--url", stack.url, "--lives", "1", "--sleep", "0.1"],
    { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]) },
    dir,
  );
  owned.push(worker);
  expect(await worker.exited).toBe(0);
  const [work] = await client.view({ id });
  expect(work).toMatchObject({ status: "success", results: { text: NUL } });
});
