import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Owned, ROOT, workerProcess } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { depositAll, finishedWorks, freshPipeline } from "../support/works.js";

/**
 * Python functions load only from the worker's function roots, as Node functions do: not from
 * installed packages outside them, and never from the standard library, even through a module
 * that re-exports it (pycparser's `check_output` is subprocess's). Real worker processes.
 */

const MODULES = join(ROOT, "test", "fixtures", "python");
let stack: Stack;
const scratch = useTempDir("python-roots-");
const owned: Owned[] = [];

const hasPycparser = (() => {
  try {
    execFileSync("python3", ["-c", "import pycparser"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
});

afterAll(async () => {
  await stack?.close();
});

/** Runs the works in one worker process (in `cwd`, with `args` and `env`) and answers them in order. */
async function runAll(
  works: Partial<WorkInput>[],
  {
    cwd = MODULES,
    args = [],
    env = {},
  }: { cwd?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<StoredWork[]> {
  const pipeline = freshPipeline("pyroots");
  const ids = await depositAll(stack, pipeline, works, { retries: 0 });
  const worker = workerProcess(
    [pipeline, "--url", stack.url, "--lives", String(ids.length), "--sleep", "0.1", ...args],
    { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]), ...env },
    cwd,
  );
  owned.push(worker);
  expect(await worker.exited).toBe(0);
  return finishedWorks(stack, ids);
}

describe("what a Python function work may name", () => {
  it("a standard-library function re-exported by a module under a root is refused, and does not run", {
    timeout: 60_000,
  }, async () => {
    const file = join(scratch, "F-reexport");
    const [work] = await runAll([
      {
        function: "wfjobs.reexport.check_output",
        parameters: { args: ["sh", "-c", `touch ${file}`] },
      },
    ]);
    expect(work?.status).toBe("failure");
    expect(work?.results?.error).toBe(
      "PermissionError: refused: wfjobs.reexport.check_output (defined in 'subprocess') is part of Python's standard library; name a function of a module under one of this worker's function roots",
    );
    expect(existsSync(file)).toBe(false);
  });

  it.skipIf(!hasPycparser)(
    "an installed package outside the roots is refused: pycparser.check_output does not run `sh -c`",
    {
      timeout: 60_000,
    },
    async () => {
      const file = join(scratch, "F-pycparser");
      const [work] = await runAll([
        { function: "pycparser.check_output", parameters: { args: ["sh", "-c", `touch ${file}`] } },
      ]);
      expect(work?.status).toBe("failure");
      expect(work?.results?.error).toMatch(
        /^PermissionError: refused: 'pycparser' lies outside this worker's function roots/,
      );
      expect(existsSync(file)).toBe(false);
    },
  );

  it("by default the roots are the worker's directory and PYTHONPATH; --function-root names them instead", {
    timeout: 90_000,
  }, async () => {
    const fit = { function: "wfjobs.jobs.fit", parameters: { a: 2, b: 3 } };
    const env = { PYTHONPATH: MODULES };
    // CHIME's dotted names, for a package found on PYTHONPATH (or installed) outside the directory.
    const [viaPath] = await runAll([fit], { cwd: scratch, env });
    expect(viaPath?.status).toBe("success");
    const [named] = await runAll([fit], { cwd: scratch, env, args: ["--function-root", MODULES] });
    expect(named?.status).toBe("success");
    const [other] = await runAll([fit], { cwd: scratch, env, args: ["--function-root", scratch] });
    expect(other?.status).toBe("failure");
    expect(other?.results?.error).toMatch(
      /^PermissionError: refused: 'wfjobs' lies outside this worker's function roots \(.*python-roots-.*\); start the worker with --function-root/,
    );
  });
});
