import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { runOne as runOneWork } from "../support/works.js";

/** Function works run by a real worker, in child processes, from modules in its working directory. */

let stack: Stack;
const dir = useTempDir("functions-");

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `import { existsSync, readFileSync, writeFileSync } from "node:fs";
export function fit(parameters) {
  return { sum: parameters.a + parameters.b, label: parameters.label, args: arguments.length };
}
export async function shaped({ name }) {
  return { results: { name, snr: 12.5 }, products: ["/data/" + name + ".h5"], plots: ["/plots/" + name + ".png", "https://example.org/" + name + ".svg"] };
}
export function broken({ why }) { throw new Error(why); }
export function flaky({ file }) {
  const n = existsSync(file) ? Number(readFileSync(file, "utf8")) + 1 : 1;
  writeFileSync(file, String(n));
  if (n < 2) throw new Error("attempt " + n + " failed");
  return { calls: n };
}
export function hang({ file }) {
  writeFileSync(file, String(process.pid));
  setInterval(() => {}, 1000);
  return new Promise(() => {});
}`,
  );
  // A package resolved by name from the worker's directory.
  const pkg = join(dir, "node_modules", "fit-kit");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "fit-kit", version: "1.0.0", type: "module", main: "index.js" }),
  );
  writeFileSync(join(pkg, "index.js"), "export const run = ({ x }) => ({ doubled: x * 2 });\n");
});

afterAll(async () => {
  await stack?.close();
});

const runOne = (work: Partial<WorkInput>, lives = 1): Promise<StoredWork> =>
  runOneWork(stack, work, { cwd: dir, prefix: "fn", worker: { lives } });

describe("function works", () => {
  it("an object returned becomes results; the parameters arrive as one object", async () => {
    const work = await runOne({
      function: "./jobs.mjs#fit",
      parameters: { a: 2, b: 40, label: "; rm -rf /" },
    });
    expect(work).toMatchObject({
      status: "success",
      attempt: 1,
      results: { sum: 42, label: "; rm -rf /", args: 1 },
    });
    expect(work.stop).toBeGreaterThanOrEqual(work.start as number);
    expect(work.history).toEqual([expect.objectContaining({ attempt: 1, status: "success" })]);
  });

  it("a returned {results, products, plots} fills each field", async () => {
    const work = await runOne({ function: "./jobs.mjs#shaped", parameters: { name: "frb42" } });
    expect(work.status).toBe("success");
    expect(work.results).toEqual({ name: "frb42", snr: 12.5 });
    expect(work.products).toEqual(["/data/frb42.h5"]);
    expect(work.plots).toEqual(["/plots/frb42.png", "https://example.org/frb42.svg"]);
  });

  it("a package name resolves from the worker's directory", async () => {
    const work = await runOne({ function: "fit-kit#run", parameters: { x: 21 } });
    expect(work).toMatchObject({ status: "success", results: { doubled: 42 } });
  });

  it("a thrown error is a final failure with results.error when retries is 0", async () => {
    const work = await runOne({
      function: "./jobs.mjs#broken",
      parameters: { why: "the fit diverged" },
      retries: 0,
    });
    expect(work).toMatchObject({
      status: "failure",
      attempt: 1,
      results: { error: "the fit diverged" },
    });
    expect(work.history).toHaveLength(1);
    expect(work.history?.[0]).toMatchObject({ status: "failure", error: "the fit diverged" });
  });

  it("a failed attempt is re-run while retries allow, and the second attempt can succeed", {
    timeout: 30_000,
  }, async () => {
    const file = join(dir, "flaky-count");
    const work = await runOne(
      { function: "./jobs.mjs#flaky", parameters: { file }, retries: 1 },
      2,
    );
    expect(work).toMatchObject({ status: "success", attempt: 2, results: { calls: 2 } });
    expect(work.history?.map((h) => [h.attempt, h.status])).toEqual([
      [1, "failure"],
      [2, "success"],
    ]);
    expect(work.history?.[0]?.error).toBe("attempt 1 failed");
    expect(readFileSync(file, "utf8")).toBe("2");
  });

  it("a function past its timeout is killed, and the attempt fails saying it timed out", {
    timeout: 30_000,
  }, async () => {
    const file = join(dir, "hang-pid");
    const started = Date.now();
    const work = await runOne({
      function: "./jobs.mjs#hang",
      parameters: { file },
      timeout: 1,
      retries: 0,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(work.status).toBe("failure");
    expect(work.results?.error).toMatch(/timed out/);
    const pid = Number(readFileSync(file, "utf8"));
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it("a free slot takes the next work while another slot still runs a long one", {
    timeout: 60_000,
  }, async () => {
    const client = stack.client();
    const pipeline = `fn-slots-${Math.random().toString(36).slice(2, 10)}`;
    const file = join(dir, `${pipeline}-pid`);
    const work = { pipeline, site: "local", user: "admin" };
    const [long] = await client.deposit(
      [{ ...work, function: "./jobs.mjs#hang", parameters: { file }, timeout: 600 }],
      { returnIds: true },
    );
    const worker = startWorker({
      pipelines: [pipeline],
      client,
      cwd: dir,
      concurrency: 2,
      wait: 2,
      sleep: 0.1,
      grace: 0,
      logger: createLogger("silent"),
    });
    try {
      await eventually(async () => existsSync(file) || undefined, 20_000);
      const [short] = await client.deposit(
        [{ ...work, function: "./jobs.mjs#fit", parameters: { a: 1, b: 2 } }],
        { returnIds: true },
      );
      const done = await eventually(async () => {
        const [stored] = await client.view({ id: short });
        return stored?.status === "success" ? stored : undefined;
      }, 20_000);
      expect(done.results).toMatchObject({ sum: 3 });
      const [still] = await client.view({ id: long });
      expect(still?.status).toBe("running");
    } finally {
      await worker.stop();
    }
  });
});
