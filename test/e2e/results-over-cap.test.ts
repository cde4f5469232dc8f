import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_MAX_BYTES } from "@workflow/work";
import { startWorker } from "@workflow/worker";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../support/cli.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * Results over 4 MB are dropped by the worker (#27.9): said where people look (ps and show's
 * status, a warning count in /metrics), and a failure instead when the work's config asks.
 */
let stack: Stack;
const dir = useTempDir("over-cap-");
const ids: Record<"warned" | "failed" | "small", string> = { warned: "", failed: "", small: "" };
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `export function huge() {
  return { results: { spectrum: "x".repeat(${RESULTS_MAX_BYTES} + 1000) } };
}
export function small() {
  return { results: { snr: 9 } };
}`,
  );
  const client = stack.client();
  const work = (fn: string, config?: Record<string, unknown>) => ({
    pipeline: "over-cap",
    site: "local",
    user: "admin",
    function: `./jobs.mjs#${fn}`,
    retries: 0,
    ...(config ? { config } : {}),
  });
  const deposited = (await client.deposit(
    [work("huge"), work("huge", { resultsOverCap: "fail" }), work("small")],
    { returnIds: true },
  )) as string[];
  [ids.warned, ids.failed, ids.small] = deposited as [string, string, string];
  const worker = startWorker({
    pipelines: ["over-cap"],
    client,
    cwd: dir,
    lives: 3,
    wait: 2,
    sleep: 0.1,
    logger: pino({ level: "silent" }),
  });
  try {
    await worker.done;
  } finally {
    await worker.stop();
  }
  await eventually(async () => {
    const works = await client.view({
      pipeline: "over-cap",
      status: { $in: ["running", "queued"] },
    });
    return works.length === 0 ? true : undefined;
  });
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const workflow = (args: string[]) =>
  runWorkflow(["--url", stack.url, ...args], {
    env: { HOME: "/nonexistent", WORKFLOW_TOKEN: stack.token("admin", ["admin"]) },
  });

describe("results over the cap", () => {
  it("leave a success that says so in ps's status column", async () => {
    const ps = await workflow(["ps", "over-cap"]);
    expect(ps.code, ps.stderr).toBe(0);
    const line = (id: string) => ps.stdout.split("\n").find((l) => l.startsWith(id)) ?? "";
    expect(line(ids.warned)).toContain("success (4.00 MB of results dropped, the cap is 4 MB)");
    expect(line(ids.small)).toMatch(/^[0-9a-f]{24}\s+success\s+1/);
  });

  it("and in show's status", async () => {
    const show = await workflow(["show", ids.warned]);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain("status: success (4.00 MB of results dropped, the cap is 4 MB)");
    // --json keeps the status as stored, with the note in results.
    const json = JSON.parse((await workflow(["show", ids.warned, "--json"])).stdout);
    expect(json.status).toBe("success");
    expect(json.results).toMatchObject({
      error: expect.stringContaining("results dropped"),
      droppedBytes: RESULTS_MAX_BYTES + 1000 + '{"spectrum":""}'.length,
    });
  });

  it("are a failure when the work's config asks (resultsOverCap: fail), with the reason", async () => {
    const [work] = await stack.client().view({ id: ids.failed });
    expect(work?.status).toBe("failure");
    expect(work?.history?.at(-1)?.error).toContain("results dropped: results are");
  });

  it("are counted in /metrics as a warning", async () => {
    const response = await fetch(`${stack.url}/metrics`, {
      headers: { authorization: `Bearer ${stack.token("admin", ["admin"])}` },
    });
    const text = await response.text();
    expect(text).toContain("# HELP buckets_results_dropped_total");
    expect(text).toMatch(/^buckets_results_dropped_total 2$/m);
  });
});
