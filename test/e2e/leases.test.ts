import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger, startWorker, type WorkerHandle } from "@workflow/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killRecorded, type Owned, workerProcess } from "../support/processes.js";
import { eventually, useStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { depositAll, storedWork } from "../support/works.js";

/** Leases: heartbeats keep a long work with its worker; a dead worker's work is re-run elsewhere. */

const { stack, owned } = useStack(import.meta.filename, {
  BUCKETS_LEASE_SECONDS: "2",
  BUCKETS_REAP_SECONDS: "1",
});
const dir = useTempDir("leases-");
const workers: WorkerHandle[] = [];
const pidFiles: string[] = [];

beforeAll(() => {});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  // A command orphaned by a killed worker runs in its own process group: end it.
  killRecorded(pidFiles.splice(0), { groups: true });
});

afterAll(() => {});

const silent = createLogger("silent");

const deposit = async (pipeline: string, command: string[]) =>
  (await depositAll(stack, pipeline, [{ command }]))[0] as string;
const view = (id: string) => storedWork(stack, id);

function worker(pipeline: string, name: string, lives = -1): WorkerHandle {
  const handle = startWorker({
    pipelines: [pipeline],
    client: stack.client({ workerId: name }),
    cwd: dir,
    lives,
    // Claims hold 2 s between heartbeats.
    lease: 2,
    wait: 1,
    sleep: 0.1,
    logger: silent,
  });
  workers.push(handle);
  return handle;
}

/** The JSON log lines a CLI worker wrote so far. */
function logLines(process: Owned): Record<string, unknown>[] {
  return process
    .output()
    .split("\n")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

describe("leases", () => {
  it("heartbeats keep a work longer than its lease with its worker; a second worker never gets it", {
    timeout: 40_000,
  }, async () => {
    const pipeline = "long-lease";
    const id = await deposit(pipeline, ["sleep", "6"]);
    const first = worker(pipeline, "first", 1);
    await eventually(async () => ((await view(id))?.status === "running" ? true : undefined));
    const second = worker(pipeline, "second");

    // While it runs, three leases over, the work stays with the first worker's first attempt.
    const seen = new Set<string>();
    while ((await view(id))?.status === "running") {
      const work = await view(id);
      if (work) seen.add(`${work.status}/${work.attempt}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await first.done;
    await second.stop();

    expect([...seen].filter((s) => s.startsWith("running"))).toEqual(["running/1"]);
    expect(second.completed).toBe(0);
    const work = await view(id);
    expect(work).toMatchObject({ status: "success", attempt: 1, results: { exitCode: 0 } });
    expect(work?.history).toHaveLength(1);
    expect(work?.history?.[0]).toMatchObject({ attempt: 1, status: "success" });
    expect(String(work?.history?.[0]?.worker)).toContain("first");
    expect((work?.stop ?? 0) - (work?.start ?? 0)).toBeGreaterThanOrEqual(5);
  });

  it("kill -9 a CLI worker mid-work: another worker re-runs it after the lease as attempt 2", {
    timeout: 40_000,
  }, async () => {
    const pipeline = "killed";
    const pids = join(dir, "killed.pids");
    pidFiles.push(pids);
    const id = await deposit(pipeline, ["sh", "-c", `echo $$ >> ${pids}; sleep 3`]);
    const doomed = workerProcess(
      [
        pipeline,
        "--url",
        stack.url,
        "--token",
        stack.token("cli", ["work:withdraw"]),
        "--lives",
        "1",
        "--lease",
        "2",
      ],
      { LOG_LEVEL: "info" },
      dir,
    );
    owned.push(doomed);

    // Its own log says it is running this work.
    await eventually(
      async () =>
        logLines(doomed).some((l) => l.msg === "running" && l.work === id) ? true : undefined,
      15_000,
    );
    expect(await view(id)).toMatchObject({ status: "running", attempt: 1 });
    await doomed.stop("SIGKILL");
    expect(doomed.child.signalCode).toBe("SIGKILL");

    const rescuer = worker(pipeline, "rescuer", 1);
    await rescuer.done;
    const work = await eventually(async () => {
      const w = await view(id);
      return w?.status === "success" ? w : undefined;
    }, 10_000);
    expect(work.attempt).toBe(2);
    expect(work.history?.map((h) => [h.attempt, h.status])).toEqual([
      [1, "expired"],
      [2, "success"],
    ]);
    expect(work.history?.[0]?.error).toMatch(/lease/);
    // Each attempt names its worker: the killed CLI (by its pid), then the rescuer.
    expect(String(work.history?.[0]?.worker)).toContain(String(doomed.child.pid));
    expect(String(work.history?.[1]?.worker)).toContain("rescuer");
    expect(readFileSync(pids, "utf8").trim().split(/\s+/)).toHaveLength(2);
  });
});
