import { spawn } from "node:child_process";
import { join } from "node:path";
import { MongoClient } from "mongodb";
import { MongoMemoryReplSet } from "mongodb-memory-server";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pipelineConfig } from "../../../test/support/configs.js";
import { mongodPort } from "../../../test/support/mongod-port.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";
import { reap } from "../src/service/reaper.js";
import { EVALUATION_SECONDS } from "../src/service/runs/lease.js";

// A run's evaluation that outlives its 30 s lock (a failover, a GC pause, a large fan-in) while
// another instance takes the lock over. MongoDB's failCommand failpoint holds an evaluation's
// command for a few seconds, and the instances' shared clock jumps past the lock meanwhile.
// The failpoint needs enableTestCommands, so this file starts a mongod of its own.
let set: MongoMemoryReplSet;
let mongo: MongoClient;
/** The test's own database: no run of an earlier test is swept meanwhile. */
let database = "";
/** Seconds added to every instance's clock: a lock lapses without waiting 30 s. */
let skew = 0;
const now = () => Date.now() / 1000 + skew;
const SECRET = "slow-evaluation-secret-0123456789";

beforeAll(async () => {
  set = await MongoMemoryReplSet.create({
    replSet: { count: 1, ip: "127.0.0.1", args: ["--setParameter", "enableTestCommands=1"] },
    instanceOpts: [{ port: mongodPort(), launchTimeout: 60_000 }],
  });
  await set.waitUntilRunning();
  // Its own appName: the failpoint holds only the service's commands, never the test's.
  mongo = await MongoClient.connect(set.getUri(), { appName: "slow-evaluation-test" });
}, 120_000);
afterAll(async () => {
  await mongo?.close();
  await set?.stop();
}, 120_000);

const services: RunningService[] = [];
beforeEach((context) => {
  skew = 0;
  database = `t${context.task.id.replace(/[^a-zA-Z0-9]/g, "")}`.slice(0, 40);
});
afterEach(async () => {
  await mongo.db("admin").command({ configureFailPoint: "failCommand", mode: "off" });
  await Promise.all(services.splice(0).map((s) => s.close()));
});

async function instance(env: Record<string, string> = {}): Promise<RunningService> {
  const options = readOptions({
    PORT: "0",
    HOST: "127.0.0.1",
    MONGODB_URI: set.getUri(database),
    BUCKETS_JWT_SECRET: SECRET,
    LOG_LEVEL: "silent",
    BUCKETS_REAP_SECONDS: "3600",
    ...env,
  });
  const service = await startService(options, { now });
  services.push(service);
  return service;
}

const admin = (s: RunningService) => mintToken(s.keys, { user: "admin", scopes: ["admin"] });

async function call(s: RunningService, method: string, path: string, body?: unknown) {
  const response = await fetch(`${s.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${admin(s)}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/**
 * Holds the next `times` commands of this kind from the service for `ms`; answers a wait for
 * them all to be held.
 */
async function hold(command: string, ms: number, times = 1): Promise<() => Promise<void>> {
  const db = mongo.db("admin");
  const { count } = await db.command({
    configureFailPoint: "failCommand",
    mode: { times },
    data: { failCommands: [command], blockConnection: true, blockTimeMS: ms, appName: "buckets" },
  });
  return async () => {
    await db.command({
      waitForFailPoint: "failCommand",
      timesEntered: count + times,
      maxTimeMS: 20_000,
    });
  };
}

/** Fails with `what` rather than leave the test to its timeout when `promise` never settles. */
function bounded<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bail = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(what)), ms);
  });
  return Promise.race([promise, bail]).finally(() => clearTimeout(timer));
}

let serial = 0;
/** A run of step `a` (`works` works) then step `b`; answers its id and its pipeline. */
async function aRun(s: RunningService, works: number): Promise<{ id: string; pipeline: string }> {
  const pipeline = `slow-${++serial}`;
  const work = { command: ["true"], user: "admin" };
  const config = pipelineConfig(
    pipeline,
    [
      {
        name: "a",
        ...(works > 1 ? { matrix: { i: Array.from({ length: works }, (_, i) => i) } } : {}),
        work,
      },
      { name: "b", needs: ["a"], work },
    ],
    { user: "admin" },
  );
  const answer = await call(s, "POST", "/runs", { config });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return { id: answer.body.id, pipeline };
}

type Claimed = { id: string; attempt: number };
async function withdraw(s: RunningService, pipeline: string, query = ""): Promise<Claimed> {
  const answer = await call(s, "POST", `/work/withdraw${query}`, { pipeline });
  expect(answer.status).toBe(200);
  expect(answer.body).not.toBeNull();
  return answer.body as Claimed;
}

const succeed = (s: RunningService, work: Claimed) =>
  call(s, "PUT", "/work", [{ id: work.id, attempt: work.attempt, status: "success" }]);

type Run = { steps: { name: string; state: string }[]; events: { kind: string; step?: string }[] };
const getRun = async (s: RunningService, id: string) =>
  (await call(s, "GET", `/runs/${id}`)).body as Run;

/** Polls until `check` holds, for at most 20 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("an evaluation that outlives its run's lock", () => {
  it("gives up when another instance took the lock: its PUT answers, the run goes on once", async () => {
    const [a, b] = [await instance(), await instance()];
    const run = await aRun(a, 2);
    const first = await withdraw(b, run.pipeline);
    const second = await withdraw(b, run.pipeline);
    const held = await hold("aggregate", 3000);
    const put = succeed(a, first);
    await held();
    // A's evaluation is stuck in MongoDB past its lock: B's takes the run over.
    skew += 60;
    expect((await succeed(b, second)).status).toBe(200);
    const answer = await bounded(put, "a's PUT never answered: its evaluation loops on unlock");
    expect(answer.status).toBe(200);
    const after = await getRun(b, run.id);
    expect(after.steps.map((s) => [s.name, s.state])).toEqual([
      ["a", "success"],
      ["b", "running"],
    ]);
    // B started b; A, having lost the lock, wrote nothing more.
    expect(after.events.filter((e) => e.kind === "step started" && e.step === "b")).toHaveLength(1);
    const doc = await mongo.db(database).collection("runs").findOne({});
    expect(doc?.lockId).toBeUndefined();
    const last = await withdraw(b, run.pipeline);
    expect((await succeed(b, last)).status).toBe(200);
    expect((await call(b, "GET", `/runs/${run.id}`)).body.status).toBe("success");
  });

  it(`stops waiting on MongoDB after ${EVALUATION_SECONDS} s: its PUT answers, and the sweep takes the run over once the lock lapses`, {
    timeout: 60_000,
  }, async () => {
    const a = await instance();
    const run = await aRun(a, 1);
    const work = await withdraw(a, run.pipeline);
    const held = await hold("aggregate", (EVALUATION_SECONDS + 10) * 1000);
    const put = succeed(a, work);
    await held();
    const answer = await bounded(put, "the PUT never answered", (EVALUATION_SECONDS + 5) * 1000);
    expect(answer.status).toBe(200);
    // Answered while MongoDB still holds the evaluation's command.
    const { inprog } = await mongo
      .db("admin")
      .command({ currentOp: true, "command.aggregate": "works", appName: "buckets" });
    expect(inprog).toHaveLength(1);
    skew += 60;
    await reap(a.ctx);
    const after = await getRun(a, run.id);
    expect(after.steps.map((s) => [s.name, s.state])).toEqual([
      ["a", "success"],
      ["b", "running"],
    ]);
  });

  it("never stops its instance's reaper", async () => {
    // Only A reaps: B's reaper waits an hour.
    await instance({ BUCKETS_REAP_SECONDS: "1" });
    const b = await instance();
    const run = await aRun(b, 1);
    const work = await withdraw(b, run.pipeline);
    // A's reaper sweeps the running run every pass: its evaluation is the one held.
    const held = await hold("aggregate", 3000);
    await held();
    skew += 60;
    expect((await succeed(b, work)).status).toBe(200);
    // A plain work whose lease lapses: only A's reaper can end it.
    const deposited = await call(b, "POST", "/work", [
      { pipeline: `${run.pipeline}-plain`, site: "local", user: "admin", command: ["true"] },
    ]);
    expect(deposited.status, JSON.stringify(deposited.body)).toBe(200);
    const claimed = await withdraw(b, `${run.pipeline}-plain`, "?lease=5");
    skew += 60;
    await until(
      async () => (await call(b, "GET", `/work/${claimed.id}`)).body.status !== "running",
      "a's reaper to end the lapsed work",
    );
  });

  it("lets the service close within BUCKETS_SHUTDOWN_SECONDS", async () => {
    const a = await instance({ BUCKETS_REAP_SECONDS: "1", BUCKETS_SHUTDOWN_SECONDS: "2" });
    await aRun(a, 1);
    // The reaper's sweep of that run, and a new run's first evaluation in its POST, each held
    // far longer than the bound. (A failpoint cannot be changed while a command sleeps in it.)
    const held = await hold("aggregate", 10_000, 2);
    const creating = aRun(a, 1).catch((error: unknown) => error);
    await held();
    const started = Date.now();
    await bounded(a.close(), "close() never finished");
    expect(Date.now() - started).toBeLessThan(2000 + 3000);
    await creating;
  });

  it("lets `buckets serve` exit 0 on SIGTERM within BUCKETS_SHUTDOWN_SECONDS", async () => {
    const a = await instance();
    await aRun(a, 1);
    await a.close();
    const child = spawn(
      process.execPath,
      [join(import.meta.dirname, "..", "dist", "cli.js"), "serve"],
      {
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          PORT: "0",
          HOST: "127.0.0.1",
          LOG_LEVEL: "info",
          MONGODB_URI: set.getUri(database),
          BUCKETS_JWT_SECRET: SECRET,
          BUCKETS_REAP_SECONDS: "1",
          BUCKETS_SHUTDOWN_SECONDS: "2",
        },
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      let out = "";
      const listening = new Promise<void>((resolve) => {
        child.stdout.on("data", (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes("buckets listening")) resolve();
        });
      });
      await bounded(listening, "buckets serve never listened");
      // Its reaper's sweep of the run, held far longer than the bound.
      await (await hold("aggregate", 10_000))();
      const signalled = Date.now();
      child.kill("SIGTERM");
      expect(await bounded(exited, "buckets serve never exited")).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(2000 + 3000);
      expect(out).toContain("buckets stopped");
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
