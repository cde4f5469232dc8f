import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BucketsClient } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "../support/cli.js";
import { ROOT, WORKFLOW_CLI } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/** #28.1 and #28.2 with real Python workers: works made from a parent's results, and chains. */

const run = promisify(execFile);
const MODULES = join(ROOT, "test", "fixtures", "pipelines");

/** The example, as written there, with split's size a param. */
const FAN_OUT = (name: string) => `
version: "2"
name: ${name}
defaults: {user: developer, site: local}
params: {n: 4}
pipeline:
  steps:
    - name: split
      work: { function: workflow.examples.fanout.split, parameters: { n: "\${{ params.n }}" } }
    - name: process
      needs: [split]
      matrix: { partition: "\${{ needs.split.results.partitions }}" }
      max-parallel: 2
      work: { function: workflow.examples.fanout.process, parameters: { p: "\${{ matrix.partition }}" } }
    - name: merge
      needs: [process]
      work: { function: workflow.examples.fanout.merge, parameters: { parts: "\${{ needs.process.results }}" } }
`;

/** One parameter set through fit, then evaluate, each evaluate seeing only its own fit. */
const CHAIN = (name: string) => `
version: "2"
name: ${name}
defaults: {user: developer, site: local}
pipeline:
  steps:
    - name: fit
      matrix: { alpha: [1, 2, 3] }
      work: { function: workflow.examples.fanout.fit, parameters: { alpha: "\${{ matrix.alpha }}" } }
    - name: evaluate
      matrix: { from: fit }
      work:
        function: workflow.examples.fanout.evaluate
        parameters: { model: "\${{ needs.fit.results }}", alpha: "\${{ matrix.alpha }}" }
`;

const configs = useTempDir("fanout-");
let written = 0;
let stack: Stack;
let client: BucketsClient;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  client = stack.client({
    user: "developer",
    scopes: ["work:deposit", "work:read", "work:withdraw"],
  });
  env = cliEnv(stack, "developer");
});
afterAll(async () => {
  await stack.close();
});

const cli = async (...args: string[]) =>
  (await run(process.execPath, [WORKFLOW_CLI, ...args], { env })).stdout;

function file(text: string): string {
  const path = join(configs, `pipeline-${++written}.yaml`);
  writeFileSync(path, text);
  return path;
}

/** Runs the run's works with a real worker until the run ends; answers the ended run. */
async function work(pipeline: string, id: string) {
  const worker = startWorker({
    pipelines: [pipeline],
    client,
    cwd: MODULES,
    lives: 100,
    concurrency: 2,
    wait: 1,
    sleep: 0.1,
    logger: createLogger("silent"),
  });
  try {
    return await eventually(async () => {
      const r = await client.run(id);
      return r.status === "running" ? undefined : r;
    }, 60_000);
  } finally {
    await worker.stop();
  }
}

describe("a matrix from a parent's results, with real workers", () => {
  it("the issue's split/process/merge: dry run and ps say it fans out, then the works are made and merged", {
    timeout: 90_000,
  }, async () => {
    const path = file(FAN_OUT("fan-e2e"));
    const dry = await cli("pipeline", "run", path, "--dry-run");
    expect(dry).toContain("process after split: fans out from split.partitions at run time");
    expect(dry).toContain(", 2 at a time");
    const id = (await cli("pipeline", "run", path, "--quiet")).trim();
    expect(await cli("pipeline", "ps", id)).toMatch(
      /└ process {2}waiting {2}.* {2}fans out from split\.partitions at run time/,
    );
    const done = await work("fan-e2e", id);
    expect(done.status).toBe("success");
    expect(done.steps.map((s) => [s.name, s.works, s.counts])).toEqual([
      ["split", 1, { success: 1 }],
      ["process", 4, { success: 4 }],
      ["merge", 1, { success: 1 }],
    ]);
    const [merged] = await client.view({
      "config.parent": id,
      function: "workflow.examples.fanout.merge",
    });
    expect(merged?.results).toEqual({ count: 4, sum: 12 });
    const ps = await cli("pipeline", "ps", id);
    expect(ps).toMatch(/└ process {2}success {2}success 4 {2}\(4 works, made at run time\)/);
    expect(ps).toContain("works created process (4 works from split.partitions)");
  });

  it("an empty list makes no works, succeeds, and the fan-in runs on nothing", {
    timeout: 60_000,
  }, async () => {
    const path = file(FAN_OUT("fan-empty"));
    const id = (await cli("pipeline", "run", path, "--quiet", "--param", "n=0")).trim();
    const done = await work("fan-empty", id);
    expect(done.status).toBe("success");
    expect(done.steps.find((s) => s.name === "process")).toMatchObject({
      works: 0,
      state: "success",
    });
    const [merged] = await client.view({
      "config.parent": id,
      function: "workflow.examples.fanout.merge",
    });
    expect(merged?.results).toEqual({ count: 0, sum: 0 });
  });

  it("a result that is not a list fails the step, naming it, and the run ends failed", {
    timeout: 60_000,
  }, async () => {
    const path = file(FAN_OUT("fan-string").replace('n: "${{ params.n }}"', "n: 1, shape: string"));
    const id = (await cli("pipeline", "run", path, "--quiet")).trim();
    const done = await work("fan-string", id);
    expect(done.status).toBe("failure");
    const failed = done.events?.find((e) => e.kind === "step failed" && e.step === "process");
    expect(failed?.detail).toBe(
      'step "process": matrix.partition: needs.split.results.partitions is a string ("not a list"), not a list',
    );
    expect(done.steps.find((s) => s.name === "merge")?.state).toBe("skipped");
  });
});

describe("hostile results, with real workers", () => {
  it("values JSON cannot carry (NaN, a set) reach the children as the worker sent them (null, a list)", {
    timeout: 60_000,
  }, async () => {
    const path = file(
      FAN_OUT("fan-nan")
        .replace('n: "${{ params.n }}"', "n: 1, shape: nan")
        .replace("site: local}", "site: local, retries: 0}"),
    );
    const id = (await cli("pipeline", "run", path, "--quiet")).trim();
    const done = await work("fan-nan", id);
    expect(done.steps.map((s) => [s.name, s.state, s.works])).toEqual([
      ["split", "success", 1],
      ["process", "failure", 1],
      ["merge", "skipped", 1],
    ]);
    const [child] = await client.view({
      "config.parent": id,
      function: "workflow.examples.fanout.process",
    });
    expect(child?.parameters).toEqual({ p: { deep: [null, [1, 2]] } });
    // The child's own code fails on what it was given, as any work may: the run says so.
    expect(child?.results).toEqual({ error: "KeyError: 'id'" });
  });
});

describe("one combination through several steps, with real workers", () => {
  it("each evaluate sees only its own fit's results, as one object", {
    timeout: 60_000,
  }, async () => {
    const path = file(CHAIN("chain-e2e"));
    const dry = await cli("pipeline", "run", path, "--dry-run");
    expect(dry).toContain("evaluate after fit: 3 works");
    const id = (await cli("pipeline", "run", path, "--quiet")).trim();
    expect((await work("chain-e2e", id)).status).toBe("success");
    const evaluated = await client.view({
      "config.parent": id,
      function: "workflow.examples.fanout.evaluate",
    });
    expect(
      evaluated.map((w) => w.results).sort((a, b) => Number(a?.alpha) - Number(b?.alpha)),
    ).toEqual([
      { alpha: 1, checked: 11, same: true },
      { alpha: 2, checked: 21, same: true },
      { alpha: 3, checked: 31, same: true },
    ]);
  });
});
