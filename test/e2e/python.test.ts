import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { createLogger, type Logger, runWork } from "@workflow/worker";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, ROOT, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { freshPipeline, runAll as runAllWorks } from "../support/works.js";

/** Python function works (`pkg.module.func`) run by a real worker in warm python3 processes. */

const MODULES = join(ROOT, "test", "fixtures", "python");
let stack: Stack;
const scratch = useTempDir("python-");

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterAll(async () => {
  await stack?.close();
});

/** Deposits works, runs one worker in the fixtures' directory until it has done them all. */
const runAll = (
  works: Partial<WorkInput>[],
  concurrency = 1,
  logger: Logger = createLogger("silent"),
): Promise<StoredWork[]> =>
  runAllWorks(stack, works, { cwd: MODULES, prefix: "py", worker: { concurrency, logger } });

const runOne = async (work: Partial<WorkInput>, logger?: Logger) =>
  (await runAll([work], 1, logger))[0] as StoredWork;

describe("Python function works", () => {
  it("func(**parameters): a dict returned becomes results", async () => {
    const work = await runOne({
      function: "wfjobs.jobs.fit",
      parameters: { a: 2, b: 40, label: "snr" },
    });
    expect(work).toMatchObject({ status: "success", results: { sum: 42, label: "snr" } });
  });

  it("a tuple (results, products, plots) fills each field", async () => {
    const work = await runOne({ function: "wfjobs.jobs.shaped", parameters: { name: "frb42" } });
    expect(work.status).toBe("success");
    expect(work.results).toEqual({ name: "frb42", snr: 12.5 });
    expect(work.products).toEqual(["/data/frb42.h5"]);
    expect(work.plots).toEqual(["/plots/frb42.png", "https://example.org/frb42.svg"]);
  });

  it("an exception fails the attempt with the traceback's last line in results.error", async () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
    const work = await runOne(
      { function: "wfjobs.jobs.broken", parameters: { why: "the fit diverged" }, retries: 0 },
      logger,
    );
    expect(work).toMatchObject({
      status: "failure",
      results: { error: "ValueError: the fit diverged" },
    });
    expect(work.history?.[0]).toMatchObject({ error: "ValueError: the fit diverged" });
    // The whole traceback, from the user's frame on, goes to the worker's log.
    const raised = lines.map((line) => JSON.parse(line)).find((l) => l.traceback);
    expect(raised.traceback).toMatch(
      /^Traceback \(most recent call last\):\n {2}File ".*wfjobs\/jobs\.py", line \d+, in broken\n/,
    );
    expect(raised.traceback).toMatch(/ValueError: the fit diverged\n$/);
  });

  it("parameters with quotes, newlines and code-like text arrive as data", async () => {
    const hostile = {
      quote: `it's "quoted"`,
      lines: "one\ntwo\r\nthree",
      code: "__import__('os').system('touch /tmp/pwned')",
      marker: "\u001eworkflow:x:1\u001e",
      unicode: "Δt = 5 µs 🚀",
    };
    const work = await runOne({ function: "wfjobs.jobs.same", parameters: hostile });
    expect(work).toMatchObject({ status: "success", results: { parameters: hostile } });
    expect(existsSync("/tmp/pwned")).toBe(false);
  });

  it("what the function prints reaches the output callback, apart from the protocol", async () => {
    const client = stack.client();
    const pipeline = freshPipeline("py");
    await client.deposit([
      {
        pipeline,
        site: "local",
        user: "admin",
        function: "wfjobs.jobs.echo",
        parameters: { n: 1 },
      },
    ]);
    const work = await client.withdraw({ pipeline });
    if (!work) throw new Error("nothing to withdraw");
    const printed: Record<string, string> = { stdout: "", stderr: "" };
    const run = runWork(work, {
      client,
      logger: createLogger("silent"),
      cwd: MODULES,
      functionRoots: [MODULES],
      output: (stream, text) => {
        printed[stream] += text;
      },
    });
    const outcome = await run.done;
    run.release();
    expect(outcome).toMatchObject({ status: "success", results: { parameters: { n: 1 } } });
    expect(printed.stdout).toBe(
      '{"id": 1, "ok": true, "results": {"forged": true}}\n\u001eworkflow:not-the-marker\u001e\nno newline at the end',
    );
    expect(printed.stderr).toBe("to stderr\n");
  });

  it("a timeout kills the process group: the function and the child it started are gone", {
    timeout: 30_000,
  }, async () => {
    const file = join(scratch, "hang-pids");
    // A warm process first, so that the timeout is not spent starting the interpreter.
    const [, work] = await runAll([
      { function: "wfjobs.jobs.whoami" },
      { function: "wfjobs.jobs.hang", parameters: { file }, timeout: 2, retries: 0 },
    ]);
    expect(work).toMatchObject({ status: "failure", results: { error: "timed out after 2 s" } });
    const pids = readFileSync(file, "utf8").split(" ").map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  });

  it("the standard library and unknown names are refused with a clear error", async () => {
    const [system, missing, neither] = await runAll([
      { function: "os.system", parameters: { command: "true" }, retries: 0 },
      { function: "wfjobs.nosuch.run", retries: 0 },
      { function: "not a function", retries: 0 },
    ]);
    expect(system?.results?.error).toMatch(/^PermissionError: refused: 'os' is built into Python/);
    expect(missing?.results?.error).toBe("ModuleNotFoundError: No module named 'wfjobs.nosuch'");
    expect(neither?.results?.error).toMatch(
      /cannot run function "not a function": name a Node export as '<module>#<export>'.*or a Python function as 'package.module.function'/,
    );
  });

  it("1,000 works run through one warm process", { timeout: 120_000 }, async () => {
    const works = await runAll(
      Array.from({ length: 1000 }, () => ({ function: "wfjobs.jobs.whoami" })),
    );
    expect(works.every((w) => w.status === "success")).toBe(true);
    const pids = new Set(works.map((w) => w.results?.pid));
    expect(pids.size).toBe(1);
  });

  it("with concurrency 3, the warm processes number at most 3 and all end when the worker stops", {
    timeout: 60_000,
  }, async () => {
    const works = await runAll(
      Array.from({ length: 30 }, () => ({ function: "wfjobs.jobs.whoami" })),
      3,
    );
    const pids = [...new Set(works.map((w) => w.results?.pid as number))];
    expect(pids.length).toBeGreaterThanOrEqual(1);
    expect(pids.length).toBeLessThanOrEqual(3);
    await eventually(async () => (pids.some(alive) ? undefined : true), 10_000);
  });

  it("kill -9 of the worker ends its Python process and what the function started", {
    timeout: 60_000,
  }, async () => {
    const file = join(scratch, "orphan-pids");
    const pipeline = freshPipeline("py");
    await stack.client().deposit([
      {
        pipeline,
        site: "local",
        user: "admin",
        function: "wfjobs.jobs.hang",
        parameters: { file },
      },
    ]);
    const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], {
      encoding: "utf8",
    }).trim();
    const worker = workerProcess(
      [pipeline, "--url", stack.url, "--sleep", "0.2"],
      { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]), WORKFLOW_PYTHON: python },
      MODULES,
    );
    try {
      const pids = await eventually(async () => {
        const text = existsSync(file) ? readFileSync(file, "utf8") : "";
        return text.includes(" ") ? text.split(" ").map(Number) : undefined;
      }, 30_000);
      expect(pids.every(alive)).toBe(true);
      await worker.stop("SIGKILL");
      await eventually(async () => (pids.some(alive) ? undefined : true), 10_000);
    } finally {
      await worker.stop("SIGKILL");
    }
  });

  it("a function that closes its stdout and stderr does not stall its process", async () => {
    const works = await runAll([
      { function: "wfjobs.jobs.close_output", timeout: 20 },
      { function: "wfjobs.jobs.whoami", timeout: 20 },
      { function: "wfjobs.jobs.whoami", timeout: 20 },
    ]);
    expect(works.map((w) => w.status)).toEqual(["success", "success", "success"]);
    expect(works[1]?.results?.pid).toBe(works[2]?.results?.pid);
  });

  it("works of different users never share a process", async () => {
    const works = await runAll([
      { function: "wfjobs.jobs.whoami", user: "admin" },
      { function: "wfjobs.jobs.whoami", user: "alice" },
      { function: "wfjobs.jobs.whoami", user: "admin" },
    ]);
    const [first, other, again] = works.map((w) => w.results?.pid);
    expect(first).toBe(again);
    expect(other).not.toBe(first);
  });
});
