import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Owned, workerProcess } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { depositAll, finishedWorks } from "../support/works.js";

/**
 * A module edited while a worker runs: the next work runs the edited code, in a fresh warm
 * process, and the worker's log says why it started one (issue #27, item 4).
 */

let stack: Stack;
const dir = useTempDir("edited-modules-");
let worker: Owned | undefined;

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  mkdirSync(join(dir, "labjobs"));
  writeFileSync(join(dir, "labjobs", "__init__.py"), "");
});

afterAll(async () => {
  await worker?.stop("SIGKILL");
  await stack?.close();
});

/** Deposits one work for the running worker and answers it once finished. */
async function runOne(pipeline: string, work: Partial<WorkInput>): Promise<StoredWork> {
  const ids = await depositAll(stack, pipeline, [work], { retries: 0, timeout: 30 });
  return (await finishedWorks(stack, ids))[0] as StoredWork;
}

/** The worker's log lines (JSON, as no terminal watches it) whose message is `msg`. */
const logLines = (owned: Owned, msg: string) =>
  owned
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; file?: string })
    .filter((line) => line.msg.includes(msg));

describe("a module edited between two works", () => {
  beforeAll(() => {
    worker = workerProcess(
      ["edited-py", "edited-node", "--url", stack.url, "--sleep", "0.1"],
      { WORKFLOW_TOKEN: stack.token("admin", ["work:withdraw"]), LOG_LEVEL: "info" },
      dir,
    );
  });

  it("Python: the next work runs the edited module, in a fresh process, and the log says so", {
    timeout: 60_000,
  }, async () => {
    const module = join(dir, "labjobs", "fit.py");
    writeFileSync(module, "import os\n\ndef version():\n    return {'v': 1, 'pid': os.getpid()}\n");
    const first = await runOne("edited-py", { function: "labjobs.fit.version" });
    expect(first).toMatchObject({ status: "success", results: { v: 1 } });
    // Unchanged, the warm process serves again.
    const again = await runOne("edited-py", { function: "labjobs.fit.version" });
    expect(again.results?.pid).toBe(first.results?.pid);

    // A function added by the edit: the old process would fail with AttributeError.
    writeFileSync(
      module,
      "import os\n\ndef version():\n    return {'v': 2, 'pid': os.getpid()}\n\ndef added():\n    return {'added': True}\n",
    );
    const added = await runOne("edited-py", { function: "labjobs.fit.added" });
    expect(added).toMatchObject({ status: "success", results: { added: true } });
    const second = await runOne("edited-py", { function: "labjobs.fit.version" });
    expect(second).toMatchObject({ status: "success", results: { v: 2 } });
    expect(second.results?.pid).not.toBe(first.results?.pid);
    const said = logLines(worker as Owned, "a module file changed");
    expect(said.map((line) => line.file)).toContain(module);
  });

  it("Node: the next work runs the edited module, and the log says so", {
    timeout: 60_000,
  }, async () => {
    const module = join(dir, "fit.mjs");
    writeFileSync(module, "export function version() { return { v: 1, pid: process.pid }; }\n");
    const first = await runOne("edited-node", { function: "./fit.mjs#version" });
    expect(first).toMatchObject({ status: "success", results: { v: 1 } });
    writeFileSync(
      module,
      "export function version() { return { v: 2, pid: process.pid }; }\nexport const added = () => ({ added: true });\n",
    );
    const second = await runOne("edited-node", { function: "./fit.mjs#version" });
    expect(second).toMatchObject({ status: "success", results: { v: 2 } });
    expect(second.results?.pid).not.toBe(first.results?.pid);
    expect(logLines(worker as Owned, "a module file changed").map((l) => l.file)).toContain(module);
  });
});
