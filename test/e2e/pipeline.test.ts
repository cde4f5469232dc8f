import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLogger, startWorker } from "@workflow/worker";
import { describe, expect, it } from "vitest";
import { CHIME_EXAMPLE } from "../support/chime-example.js";
import { cliEnv } from "../support/cli.js";
import { ROOT, WORKFLOW_CLI } from "../support/processes.js";
import { eventually, useStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

const run = promisify(execFile);
const configs = useTempDir("pipeline-");
/** CHIME's example functions (workflow.examples.function.math), as a Python package. */
const MODULES = join(ROOT, "test", "fixtures", "pipelines");

const CONFIG = `${CHIME_EXAMPLE}    - name: total
      stage: 2
      work:
        function: workflow.examples.function.total
        parameters: {sums: "\${{ needs.math.results.sum }}"}
`;

const { stack } = useStack(import.meta.filename);

describe("a pipeline with real workers", () => {
  it("CHIME's example runs: 9 works, then a fan-in step that sums their results", {
    timeout: 60_000,
  }, async () => {
    const client = stack.client({
      user: "developer",
      scopes: ["work:deposit", "work:read", "work:withdraw"],
    });
    const { id, works } = await client.startRun(CONFIG);
    expect(works).toHaveLength(10);
    const worker = startWorker({
      pipelines: ["example-pipeline"],
      client,
      cwd: MODULES,
      lives: 10,
      concurrency: 3,
      wait: 2,
      sleep: 0.1,
      logger: createLogger("silent"),
    });
    try {
      await worker.done;
    } finally {
      await worker.stop();
    }
    const done = await eventually(async () => {
      const r = await client.run(id);
      return r.status === "running" ? undefined : r;
    });
    expect(done.status).toBe("success");
    expect(done.steps.map((s) => [s.name, s.counts])).toEqual([
      ["math", { success: 9 }],
      ["total", { success: 1 }],
    ]);
    const [fanIn] = await client.view({
      "config.parent": id,
      function: "workflow.examples.function.total",
    });
    expect(fanIn?.results).toEqual({ total: 36, count: 9 });
  });

  it("the CLI's dry run prints the DAG and every work, and deposits nothing", async () => {
    const env = cliEnv(stack, "developer");
    const file = join(configs, "example.yaml");
    writeFileSync(file, CONFIG.replace("example-pipeline", "dry-example"));
    const { stdout } = await run(
      process.execPath,
      [WORKFLOW_CLI, "pipeline", "run", file, "--dry-run"],
      { env },
    );
    expect(stdout).toContain("dry-example: 2 steps, 10 works");
    expect(stdout).toContain("total after math: 1 works");
    expect(stdout).toContain('[8] workflow.examples.function.math {"a":3,"b":3}');
    expect(await stack.client().count({ pipeline: "dry-example" })).toBe(0);
    const started = await run(
      process.execPath,
      [WORKFLOW_CLI, "pipeline", "run", file, "--quiet"],
      { env },
    );
    const runId = started.stdout.trim();
    const ps = await run(process.execPath, [WORKFLOW_CLI, "pipeline", "ps", runId], { env });
    expect(ps.stdout).toMatch(/math {2}running {2}queued 9/);
    expect(ps.stdout).toMatch(/└ total {2}waiting {2}waiting 1/);
    const cancelled = await run(process.execPath, [WORKFLOW_CLI, "pipeline", "cancel", runId], {
      env,
    });
    expect(cancelled.stdout).toContain("(10 works)");
    const ls = await run(
      process.execPath,
      [WORKFLOW_CLI, "pipeline", "ls", "--name", "dry-example"],
      { env },
    );
    expect(ls.stdout).toContain(`${runId}  dry-example  cancelled`);
  });
});
