import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, pidsIn } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { runOne as runOneWork } from "../support/works.js";

let stack: Stack;
const dir = useTempDir("runs-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `export const fit = ({ a, b }) => ({ sum: a + b });
export const shaped = async ({ name }) => ({ results: { name }, products: ["/data/" + name + ".h5"], plots: ["/plots/" + name + ".png"] });
export const broken = () => { throw new Error("the fit diverged"); };
export const pid = () => ({ pid: process.pid });`,
  );
});
afterAll(async () => {
  await stack.close();
});

const runOne = (work: Partial<WorkInput>): Promise<StoredWork> =>
  runOneWork(stack, work, { cwd: dir, prefix: "p" });

describe("function works", () => {
  it("an object returned becomes results; parameters arrive as one object", async () => {
    const work = await runOne({ function: "./jobs.mjs#fit", parameters: { a: 2, b: 40 } });
    expect(work).toMatchObject({ status: "success", results: { sum: 42 }, attempt: 1 });
    expect(work.stop).toBeGreaterThan(work.start as number);
  });

  it("{results, products, plots} fills each", async () => {
    const work = await runOne({ function: "./jobs.mjs#shaped", parameters: { name: "frb" } });
    expect(work).toMatchObject({
      status: "success",
      results: { name: "frb" },
      products: ["/data/frb.h5"],
      plots: ["/plots/frb.png"],
    });
  });

  it("a thrown error fails the attempt with results.error", async () => {
    const work = await runOne({ function: "./jobs.mjs#broken", retries: 0 });
    expect(work).toMatchObject({ status: "failure", results: { error: "the fit diverged" } });
    expect(work.history?.[0]).toMatchObject({ status: "failure", error: "the fit diverged" });
  });

  it("reuses warm processes: 24 works at concurrency 4 all succeed at once, in at most 4 processes", {
    timeout: 30_000,
  }, async () => {
    const client = stack.client();
    const ids = await client.deposit(
      Array.from({ length: 24 }, () => ({
        pipeline: "warm",
        site: "local",
        user: "admin",
        function: "./jobs.mjs#pid",
      })),
      { returnIds: true },
    );
    const worker = startWorker({
      pipelines: ["warm"],
      client,
      cwd: dir,
      lives: 24,
      concurrency: 4,
      wait: 2,
      logger: createLogger("silent"),
    });
    await worker.done;
    const works = await client.view({ id: { $in: ids } });
    expect(works.map((w) => [w.status, w.attempt])).toEqual(ids.map(() => ["success", 1]));
    const pids = new Set(works.map((w) => w.results?.pid));
    expect(pids.size).toBeLessThanOrEqual(4);
    // The worker ended its warm processes when it stopped.
    await eventually(
      async () =>
        [...pids].every((p) => {
          try {
            process.kill(p as number, 0);
            return false;
          } catch {
            return true;
          }
        })
          ? true
          : undefined,
      5_000,
    );
  });

  it("a missing export fails clearly", async () => {
    const work = await runOne({ function: "./jobs.mjs#absent", retries: 0 });
    expect(work.results?.error).toMatch(/no exported function "absent"/);
  });
});

describe("command works", () => {
  it("exit 0 is success, with the exit code and the output's tail in results", async () => {
    const work = await runOne({ command: ["sh", "-c", "echo out; echo err >&2"] });
    expect(work).toMatchObject({
      status: "success",
      results: { exitCode: 0, stdout: "out\n", stderr: "err\n" },
    });
  });

  it("exit 3 is a failure", async () => {
    const work = await runOne({ command: ["sh", "-c", "exit 3"], retries: 0 });
    expect(work).toMatchObject({
      status: "failure",
      results: { exitCode: 3, error: "exited with code 3" },
    });
  });

  it("keeps the work's own results instead of the output", async () => {
    const work = await runOne({ command: ["true"], results: { given: true } });
    expect(work.results).toEqual({ given: true });
  });

  it("a timeout kills the command and every process it started", { timeout: 30_000 }, async () => {
    const pids = join(dir, "pids");
    const work = await runOne({
      command: [
        "sh",
        "-c",
        `sleep 100 & echo $! > ${pids}; sleep 100 & echo $! >> ${pids}; echo $$ >> ${pids}; wait`,
      ],
      timeout: 2,
      retries: 0,
    });
    expect(work.status).toBe("failure");
    expect(work.results?.error).toBe("timed out after 2 s");
    expect(pidsIn(pids).filter(alive)).toEqual([]);
  });

  it.each([
    ["argv", ["printf", "%s|", "{{a}}", "{{b}}"]],
    ["shell", ["printf '%s|' {{a}} {{b}}"]],
  ])("parameters reach the %s form as literal arguments", async (_form, command) => {
    const work = await runOne({ command, parameters: { a: "; rm -rf /", b: "$(id)" } });
    expect(work.results?.stdout).toBe("; rm -rf /|$(id)|");
  });
});
