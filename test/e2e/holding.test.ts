import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimWrites } from "../support/claim-writes.js";
import { alive, type Owned, pidsIn, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";

let stack: Stack;
const writes = claimWrites();
const owned: Owned[] = [];
beforeAll(async () => {
  stack = await startStack(
    import.meta.filename,
    { BUCKETS_LEASE_SECONDS: "2", BUCKETS_REAP_SECONDS: "1" },
    "",
    { onCommand: writes.onCommand },
  );
});
afterAll(async () => {
  await Promise.all(owned.map((o) => o.stop()));
  await stack.close();
});

const silent = createLogger("silent");
const client = () => stack.client();
const deposit = async (pipeline: string, extra: object = {}) =>
  (
    await client().deposit([{ pipeline, site: "s", user: "admin", ...extra }], { returnIds: true })
  )[0] as string;
const statusOf = async (id: string) => (await client().view({ id }))[0];
const running = (id: string) =>
  eventually(async () => ((await statusOf(id))?.status === "running" ? true : undefined));
/** A worker in this process for `pipeline`, polling every second; `more` says the rest. */
const inProcess = (pipeline: string, more: Partial<Parameters<typeof startWorker>[0]> = {}) =>
  startWorker({ pipelines: [pipeline], client: client(), wait: 1, logger: silent, ...more });
const cli = (pipeline: string, extra: string[] = []) => {
  const worker = workerProcess(
    [pipeline, "--url", stack.url, "--sleep", "0.2", "--lease", "2", ...extra],
    {
      WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]),
      LOG_LEVEL: "info",
    },
  );
  owned.push(worker);
  return worker;
};

describe("leases", () => {
  it("heartbeats keep a work longer than its lease with its worker; a second worker never gets it", {
    timeout: 30_000,
  }, async () => {
    const id = await deposit("long", { command: ["sleep", "5"] });
    const first = inProcess("long", { lives: 1, lease: 2 });
    await running(id);
    const second = inProcess("long", { lease: 2, sleep: 0.1 });
    await first.done;
    await second.stop();
    expect(second.completed).toBe(0);
    expect(await statusOf(id)).toMatchObject({ status: "success", attempt: 1 });
  });

  it("kill -9 a worker mid-work: another re-runs it after the lease, as attempt 2, to success", {
    timeout: 60_000,
  }, async () => {
    const id = await deposit("killed", { command: ["sleep", "3"] });
    const doomed = cli("killed");
    await running(id);
    await doomed.stop("SIGKILL");
    const rescuer = inProcess("killed", { lives: 1, wait: 2 });
    await rescuer.done;
    const work = await statusOf(id);
    expect(work).toMatchObject({ status: "success", attempt: 2 });
    expect(work?.history?.map((h) => h.status)).toEqual(["expired", "success"]);
  });
});

describe("stopping", () => {
  it("a cancel while the work runs kills it, and it is reported cancelled", {
    timeout: 30_000,
  }, async () => {
    const id = await deposit("cancel", { command: ["sleep", "30"] });
    const worker = inProcess("cancel", { lives: 1, lease: 2 });
    await running(id);
    const started = Date.now();
    await client().cancel(id);
    await worker.done;
    expect(Date.now() - started).toBeLessThan(10_000);
    const work = await statusOf(id);
    expect(work?.status).toBe("cancelled");
    expect(work?.history?.[0]?.status).toBe("cancelled");
  });

  it("SIGTERM lets the running work finish and report, then the worker exits 0", {
    timeout: 30_000,
  }, async () => {
    const id = await deposit("graceful", { command: ["sleep", "2"] });
    const worker = cli("graceful");
    await running(id);
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect((await statusOf(id))?.status).toBe("success");
  });

  it("past --grace, the work is killed and released, so that it runs again", {
    timeout: 30_000,
  }, async () => {
    const id = await deposit("impatient", { command: ["sleep", "60"] });
    const worker = cli("impatient", ["--grace", "1"]);
    await running(id);
    const started = Date.now();
    worker.child.kill("SIGTERM");
    expect(await worker.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    const work = await statusOf(id);
    expect(work?.status, worker.output()).toBe("queued");
    expect(work?.history?.[0]).toMatchObject({ attempt: 1, status: "released" });
  });

  it("a stop while a claim is on its way gives back the work it brings, to run elsewhere at once", {
    timeout: 30_000,
  }, async () => {
    const id = await deposit("stopped-claiming", { command: ["sleep", "60"] });
    const worker = inProcess("stopped-claiming");
    writes.arm("stopped-claiming", () => void worker.stop());
    await worker.done;
    expect(worker.completed).toBe(0);
    const work = await statusOf(id);
    expect(work?.status).toBe("queued");
    expect(work?.history?.map((h) => h.status)).toEqual(["released"]);
  });
});

describe("a worker killed with -9", () => {
  it("takes its function's process, and what that started, with it", {
    timeout: 30_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "orphan-"));
    const pids = join(dir, "pids");
    writeFileSync(
      join(dir, "slow.mjs"),
      `import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
export const slow = () => {
  const child = spawn("sleep", ["60"], { stdio: "ignore" });
  writeFileSync(${JSON.stringify(pids)}, process.pid + "\\n" + child.pid + "\\n");
  return new Promise(() => {});
};`,
    );
    const id = await deposit("orphan", { function: "./slow.mjs#slow" });
    const worker = workerProcess(
      ["orphan", "--url", stack.url],
      { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]) },
      dir,
    );
    owned.push(worker);
    try {
      await eventually(async () => (pidsIn(pids).length >= 2 ? true : undefined));
      expect((await statusOf(id))?.status).toBe("running");
      await worker.stop("SIGKILL");
      const started = pidsIn(pids);
      await eventually(async () => (started.every((pid) => !alive(pid)) ? true : undefined), 5_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
