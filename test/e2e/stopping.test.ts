import { join } from "node:path";
import { createLogger, startWorker, type WorkerHandle } from "@workflow/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { alive, killRecorded, type Owned, pidsIn, workerProcess } from "../support/processes.js";
import { eventually, useStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { depositAll, storedWork } from "../support/works.js";

/** Stopping works and workers: a cancel from the service, SIGTERM/SIGINT, and --grace. */

// Workers ask for 3 s leases: heartbeats every second, so a cancel is learned quickly.
const { stack, owned } = useStack(import.meta.filename);
const dir = useTempDir("stopping-");
const workers: WorkerHandle[] = [];
const pidFiles: string[] = [];

beforeAll(() => {});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  killRecorded(pidFiles.splice(0));
});

afterAll(() => {});

/** A command that records its pid and its child's pid in `file`, then waits `seconds`. */
const recorded = (file: string, seconds: number) => {
  pidFiles.push(file);
  return ["sh", "-c", `echo $$ >> ${file}; sleep ${seconds} & echo $! >> ${file}; wait`];
};

const deposit = async (pipeline: string, command: string[]) =>
  (await depositAll(stack, pipeline, [{ command }]))[0] as string;
const view = (id: string) => storedWork(stack, id);

function worker(pipeline: string, lives = -1): WorkerHandle {
  const handle = startWorker({
    pipelines: [pipeline],
    client: stack.client(),
    cwd: dir,
    lives,
    lease: 3,
    wait: 1,
    sleep: 0.1,
    logger: createLogger("silent"),
  });
  workers.push(handle);
  return handle;
}

function cli(pipeline: string, extra: string[] = []): Owned {
  const token = stack.token("cli", ["work:withdraw"]);
  const process = workerProcess(
    [pipeline, "--url", stack.url, "--token", token, "--sleep", "0.2", "--lease", "3", ...extra],
    { LOG_LEVEL: "info" },
    dir,
  );
  owned.push(process);
  return process;
}

/** Resolves once the CLI worker logs that it is running work `id`. */
const runningIn = (process: Owned, id: string) =>
  eventually(
    async () =>
      process
        .output()
        .split("\n")
        .some((line) => line.includes('"msg":"running"') && line.includes(id))
        ? true
        : undefined,
    15_000,
  );

describe("cancel", () => {
  it("a cancel while the work runs kills its processes, and it ends cancelled, not retried", {
    timeout: 30_000,
  }, async () => {
    const pipeline = "cancel-running";
    const file = join(dir, "cancel.pids");
    const id = await deposit(pipeline, recorded(file, 60));
    const running = worker(pipeline, 1);
    await eventually(async () => ((await view(id))?.status === "running" ? true : undefined));
    await eventually(async () => (pidsIn(file).length === 2 ? true : undefined), 5_000);

    const started = Date.now();
    await stack.client().cancel(id);
    await running.done;
    expect(Date.now() - started).toBeLessThan(10_000);

    expect(pidsIn(file).filter(alive)).toEqual([]);
    const work = await view(id);
    expect(work).toMatchObject({ status: "cancelled", attempt: 1 });
    expect(work?.history?.map((h) => h.status)).toEqual(["cancelled"]);
    // Nobody picks it up again: a worker for one work takes the one deposited after it.
    const next = await deposit(pipeline, ["true"]);
    const other = worker(pipeline, 1);
    await other.done;
    expect(other.completed).toBe(1);
    expect(await view(next)).toMatchObject({ status: "success", attempt: 1 });
    expect(await view(id)).toMatchObject({ status: "cancelled", attempt: 1 });
  });

  it("the worker of a work cancelled under it reports what it had, and says the work ends there", {
    timeout: 30_000,
  }, async () => {
    const pipeline = "cancel-late";
    const id = await deposit(pipeline, ["sh", "-c", "echo partial-output; sleep 60"]);
    const process = cli(pipeline, ["--lives", "1"]);
    await runningIn(process, id);
    await eventually(async () => {
      const logs = await stack.client().logs(id);
      return logs.lines.some((l) => l.text === "partial-output") ? true : undefined;
    });
    await stack.client().cancel(id);
    const late = await eventually(async () => {
      const work = await view(id);
      return work?.results?.error === "cancelled" ? work : undefined;
    }, 15_000);
    expect(late).toMatchObject({ status: "cancelled", attempt: 1 });
    expect(JSON.stringify(late.results)).toContain("partial-output");
    await process.exited;
    expect(process.output()).not.toMatch(/re-run|refused the outcome|could not report/);
  });

  it("a cancelled queued work is never run", { timeout: 15_000 }, async () => {
    const pipeline = "cancel-queued";
    const id = await deposit(pipeline, ["true"]);
    await stack.client().cancel(id);
    // A worker for one work takes the one deposited after it, never the cancelled one.
    const next = await deposit(pipeline, ["true"]);
    const idle = worker(pipeline, 1);
    await idle.done;
    expect(idle.completed).toBe(1);
    expect(await view(next)).toMatchObject({ status: "success", attempt: 1 });
    expect(await view(id)).toMatchObject({ status: "cancelled", attempt: 0 });
  });
});

describe("signals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s lets the running work finish and report, takes no new work, and exits 0",
    { timeout: 30_000 },
    async (signal) => {
      const pipeline = `graceful-${signal.toLowerCase()}`;
      const first = await deposit(pipeline, ["sh", "-c", "sleep 2; echo finished"]);
      const second = await deposit(pipeline, ["echo", "never"]);
      const process = cli(pipeline);
      await runningIn(process, first);

      const signalled = Date.now();
      process.child.kill(signal);
      expect(await process.exited).toBe(0);
      expect(Date.now() - signalled).toBeGreaterThan(500);
      expect(Date.now() - signalled).toBeLessThan(10_000);

      expect(await view(first)).toMatchObject({
        status: "success",
        attempt: 1,
        results: { exitCode: 0, stdout: "finished\n" },
      });
      expect(await view(second)).toMatchObject({ status: "queued", attempt: 0 });
    },
  );

  it("past --grace, the work is killed and released, so that it runs again without spending a retry", {
    timeout: 30_000,
  }, async () => {
    const pipeline = "impatient";
    const file = join(dir, "impatient.pids");
    const marker = join(dir, "impatient.ran");
    pidFiles.push(file);
    // The first attempt takes 30 s; a retry finds the marker and ends at once.
    const id = await deposit(pipeline, [
      "sh",
      "-c",
      `if [ -e ${marker} ]; then echo retried; exit 0; fi; touch ${marker}; echo $$ >> ${file}; sleep 30 & echo $! >> ${file}; wait`,
    ]);
    const process = cli(pipeline, ["--grace", "1"]);
    await runningIn(process, id);
    await eventually(async () => (pidsIn(file).length === 2 ? true : undefined), 5_000);

    const signalled = Date.now();
    process.child.kill("SIGTERM");
    expect(await process.exited).toBe(0);
    const seconds = (Date.now() - signalled) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(0.9);
    expect(seconds).toBeLessThan(8);
    expect(pidsIn(file).filter(alive)).toEqual([]);

    const released = await view(id);
    expect(released).toMatchObject({ status: "queued", attempt: 1 });
    expect(released?.history?.[0]).toMatchObject({ attempt: 1, status: "released" });
    expect(released?.results).toBeUndefined();

    // Another worker takes it at once: a released attempt waits for no backoff.
    await worker(pipeline, 1).done;
    const retried = await view(id);
    expect(retried).toMatchObject({ status: "success", attempt: 2 });
    expect(retried?.results?.stdout).toBe("retried\n");
    expect(retried?.history?.map((h) => h.status)).toEqual(["released", "success"]);
  });
});
