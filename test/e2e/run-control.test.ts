import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { createLogger, startWorker } from "@workflow/worker";
import { MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "../support/cli.js";
import { databaseName, uriFor } from "../support/db.js";
import { WORKFLOW_CLI } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

const exec = promisify(execFile);

let stack: Stack;
const dir = useTempDir("run-control-");
let mongo: MongoClient;
beforeAll(async () => {
  // The periodic loop, which times runs out, at its shortest.
  stack = await startStack(import.meta.filename, { BUCKETS_REAP_SECONDS: "5" });
  mongo = await MongoClient.connect(uriFor(databaseName(import.meta.filename)));
});
afterAll(async () => {
  await mongo?.close();
  await stack.close();
});

const owner = () => cliEnv(stack);
const workflow = (args: string[]) =>
  exec(process.execPath, [WORKFLOW_CLI, ...args], { env: owner() });
const client = () => stack.client({ user: "alice", scopes: ["work:deposit", "work:read"] });
const worker = (pipeline: string) =>
  startWorker({
    pipelines: [pipeline],
    client: stack.client({ workerId: `w-${pipeline}` }),
    cwd: dir,
    concurrency: 3,
    wait: 1,
    sleep: 0.1,
    lease: 3,
    grace: 1,
    logger: createLogger("silent"),
  });
const settled = (id: string, status: string) =>
  eventually(async () => {
    const run = await client().run(id);
    return run.status === status ? run : undefined;
  }, 60_000);

describe("run limits, pause and merge with real workers", () => {
  it("a run past its timeout ends timedout, its running work is stopped at its heartbeat, and rerun --unfinished carries on", {
    timeout: 120_000,
  }, async () => {
    const gate = join(dir, "gate");
    const config = join(dir, "slow.yaml");
    writeFileSync(
      config,
      [
        'version: "2"',
        "name: slow-run",
        "timeout: 1h",
        "defaults: {user: alice, site: local}",
        "pipeline:",
        "  steps:",
        "    - name: quick",
        '      work: {command: ["true"]}',
        "    - name: slow",
        "      needs: [quick]",
        `      work: {command: ["sh", "-c", "test -f ${gate} || exec sleep 600"]}`,
      ].join("\n"),
    );
    const dry = await workflow(["pipeline", "run", config, "--dry-run"]);
    expect(dry.stdout).toContain("run limits: times out 1 h 0 min after it starts (timeout)");
    const id = (await workflow(["pipeline", "run", config, "--quiet"])).stdout.trim();
    const w = worker("slow-run");
    try {
      const running = await eventually(async () => {
        const run = await client().run(id);
        return run.steps[1]?.counts?.running === 1 ? run : undefined;
      }, 60_000);
      expect((await workflow(["pipeline", "ps", id])).stdout).toMatch(
        new RegExp(`^run ${id} {2}slow-run {2}running {2}\\(user alice\\) {2}times out at `),
      );
      expect(running.deadline).toBeTypeOf("number");
      // Its timeout passes (the deadline moved back, as if an hour went by): the periodic loop acts.
      await mongo
        .db()
        .collection("runs")
        .updateOne({ _id: new ObjectId(id) }, { $set: { deadline: running.created } });
      const ended = await settled(id, "timedout");
      expect(ended.events?.map((e) => e.kind)).toContain("run timed out");
      // The worker hears it at its next heartbeat and stops the command.
      const [slow] = await eventually(async () => {
        const works = await client().view({ "config.parent": id, status: "cancelled" });
        return works[0]?.history?.[0]?.stop ? works : undefined;
      }, 60_000);
      expect(slow?.history?.[0]?.status).toBe("cancelled");
      const ps = await workflow(["pipeline", "ps", id]);
      expect(ps.stdout).toContain(`slow-run  timedout`);
      expect(ps.stdout).toMatch(/└ slow {2}timedout {2}cancelled 1/);

      writeFileSync(gate, "");
      const rerun = await workflow(["rerun", id, "--unfinished"]);
      expect(rerun.stdout).toBe(`rerun of run ${id}: 1 works (steps slow)\n`);
      const done = await settled(id, "success");
      expect(done.steps.map((s) => [s.name, s.counts])).toEqual([
        ["quick", { success: 1 }],
        ["slow", { success: 1 }],
      ]);
    } finally {
      await w.stop();
    }
  });

  it("paused, merged and resumed from the CLI; max-parallel keeps one work at a time across steps", {
    timeout: 120_000,
  }, async () => {
    const config = join(dir, "fit.yaml");
    writeFileSync(
      config,
      [
        'version: "2"',
        "name: fit-run",
        "max-parallel: 1",
        "defaults: {user: alice, site: local}",
        "pipeline:",
        "  steps:",
        "    - name: fit",
        "      matrix: {n: [1, 2, 3]}",
        '      work: {command: ["true"]}',
        "    - name: plot",
        "      matrix: {n: [1, 2]}",
        '      work: {command: ["true"]}',
      ].join("\n"),
    );
    const dry = await workflow(["pipeline", "run", config, "--dry-run"]);
    expect(dry.stdout).toContain(
      "run limits: at most 1 works queued or running at once, all steps together (max-parallel)",
    );
    const id = (await workflow(["pipeline", "run", config, "--quiet"])).stdout.trim();
    const paused = await workflow(["pipeline", "pause", id]);
    expect(paused.stdout).toContain(`paused run ${id} (1 queued works back to waiting)`);
    expect((await workflow(["pipeline", "ps", id])).stdout).toMatch(
      /running \(paused\) {2}\(user alice\) {2}paused since .*max-parallel 1/,
    );
    const steps = join(dir, "steps.yaml");
    writeFileSync(
      steps,
      [
        "- name: report",
        "  needs: [fit, plot]",
        `  work: {command: ["sh", "-c", "touch ${join(dir, "reported")}"]}`,
      ].join("\n"),
    );
    const merged = await workflow(["pipeline", "merge", id, steps]);
    expect(merged.stdout).toBe(`merged into run ${id}: added report (1 new works)\n`);
    const w = worker("fit-run");
    try {
      // Paused: the worker finds nothing until the run is resumed.
      expect((await client().run(id)).steps.every((s) => !s.counts?.running)).toBe(true);
      expect((await workflow(["pipeline", "resume", id])).stdout).toBe(`resumed run ${id}\n`);
      const done = await settled(id, "success");
      expect(done.steps.map((s) => s.name)).toEqual(["fit", "plot", "report"]);
      expect(existsSync(join(dir, "reported"))).toBe(true);
    } finally {
      await w.stop();
    }
    // One at a time across the steps, with three worker slots free: no two attempts overlap.
    const works = await client().view({ "config.parent": id });
    const spans = works
      .map((work) => [work.start as number, work.stop as number] as const)
      .sort((a, b) => a[0] - b[0]);
    expect(spans).toHaveLength(6);
    for (let i = 1; i < spans.length; i++) {
      expect(spans[i]?.[0]).toBeGreaterThanOrEqual(spans[i - 1]?.[1] as number);
    }
    const events = (await client().run(id)).events?.map((e) => e.kind) ?? [];
    expect(events).toEqual(expect.arrayContaining(["run paused", "steps merged", "run resumed"]));
  });
});
