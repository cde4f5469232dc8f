import type { StoredWork, WorkInput } from "@workflow/work";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { alive, type Owned, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { depositAll, finishedWorks } from "../support/works.js";

/**
 * Poison works that defeat the worker through its processes and pipes: a descendant that escapes
 * the process group and holds the output pipes open, and output faster than anyone can ship it.
 * Each runs in a real worker process, which must go on to the next work and still obey SIGTERM.
 */

let stack: Stack;
const dir = useTempDir("poison-processes-");
const owned: Owned[] = [];
const escaped: number[] = [];

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
  for (const pid of escaped.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
});

afterAll(async () => {
  await stack?.close();
});

const deposit = (pipeline: string, works: Partial<WorkInput>[]): Promise<string[]> =>
  depositAll(stack, pipeline, works, { retries: 0 });

function worker(pipeline: string, args: string[]): Owned {
  const started = workerProcess(
    [pipeline, "--url", stack.url, "--sleep", "0.1", ...args],
    { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]) },
    dir,
  );
  owned.push(started);
  return started;
}

/** The pid a command printed first (`echo $!`), remembered so that the test kills it if need be. */
function printedPid(work: StoredWork | undefined): number {
  const pid = Number(String(work?.results?.stdout ?? "").split("\n")[0]);
  expect(pid).toBeGreaterThan(1);
  escaped.push(pid);
  return pid;
}

it("a command whose escaped descendant holds its output open ends when the command exits; the worker runs the next work", {
  timeout: 60_000,
}, async () => {
  const pipeline = "escaped-exit";
  const ids = await deposit(pipeline, [
    { command: ["sh", "-c", "setsid sleep 240 & echo $!"], timeout: 5 },
    { command: ["echo", "still here"] },
  ]);
  const run = worker(pipeline, ["--lives", "2"]);
  expect(await run.exited).toBe(0);
  const [poison, good] = await finishedWorks(stack, ids);
  expect(poison?.status).toBe("success");
  const pid = printedPid(poison);
  // What held the pipe was the command's, and goes with it.
  await eventually(async () => (alive(pid) ? undefined : true), 15_000);
  expect(good).toMatchObject({ status: "success", results: { stdout: "still here\n" } });
});

it("the timeout fires whatever escaped descendants hold open", { timeout: 60_000 }, async () => {
  const pipeline = "escaped-timeout";
  const ids = await deposit(pipeline, [
    { command: ["sh", "-c", "setsid sleep 240 & echo $!; sleep 120"], timeout: 3 },
    { command: ["echo", "still here"] },
  ]);
  const run = worker(pipeline, ["--lives", "2"]);
  expect(await run.exited).toBe(0);
  const [poison, good] = await finishedWorks(stack, ids);
  expect(poison).toMatchObject({ status: "failure", results: { error: "timed out after 3 s" } });
  const pid = printedPid(poison);
  await eventually(async () => (alive(pid) ? undefined : true), 15_000);
  expect(good?.status).toBe("success");
});

it("SIGTERM stops a worker whose command left an escaped descendant holding its output", {
  timeout: 60_000,
}, async () => {
  const pipeline = "escaped-sigterm";
  const [id] = await deposit(pipeline, [
    { command: ["sh", "-c", "setsid sleep 240 & echo $!; sleep 120"], timeout: 600 },
  ]);
  const run = worker(pipeline, ["--lives", "1", "--grace", "2"]);
  await eventually(async () => {
    const [work] = await stack.client().view({ id: id as string });
    return work?.status === "running" ? work : undefined;
  });
  // The output (the escaped pid) has reached the service as logs: the command really started.
  await eventually(async () => {
    const logs = await stack.client().logs(id as string);
    return logs.lines.length > 0 ? logs : undefined;
  });
  run.child.kill("SIGTERM");
  expect(await run.exited).toBe(0);
});

it("a flood of output does not starve the heartbeats: the work beside it keeps its lease", {
  timeout: 120_000,
}, async () => {
  const pipeline = "flood";
  const ids = await deposit(pipeline, [
    { command: ["sh", "-c", "yes | head -c 50000000"] },
    { command: ["sleep", "6"] },
  ]);
  const run = worker(pipeline, ["--lives", "2", "--concurrency", "2", "--lease", "3"]);
  expect(await run.exited).toBe(0);
  const [flood, beside] = await finishedWorks(stack, ids);
  expect(flood?.status).toBe("success");
  // What is kept of the output is its tail, bounded.
  expect(String(flood?.results?.stdout).length).toBeLessThan(70_000);
  expect(String(flood?.results?.stdout)).toMatch(/y\ny\n$/);
  expect(beside?.status).toBe("success");
  expect(beside?.history?.filter((h) => h.status !== "success")).toEqual([]);
});
