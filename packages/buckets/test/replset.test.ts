import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { MongoClient } from "mongodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from "vitest";
import { eventually } from "../../../test/support/eventually.js";
import { mongodPort } from "../../../test/support/mongod-port.js";
import { testServiceEnv } from "../../../test/support/service-env.js";
import { mintToken, type RunningService, readOptions, startService } from "../src/index.js";
import { aWork } from "./support/service.js";

// Two service instances on one replica set, as in production: two members, the fewest that can
// elect a new primary when one steps down.
let a: RunningService;
let b: RunningService;
let mongo: MongoClient;
const options = (uri: string) =>
  readOptions(
    testServiceEnv(import.meta.filename, "", { MONGODB_URI: uri, BUCKETS_REAP_SECONDS: "1" }),
  );

const MEMBERS = 2;
const ATTEMPTS = 3;
/** A member's own start; mongod under a busy machine's Wine can take far past the library's 10 s. */
const LAUNCH_MS = 90_000;
/** Every attempt together: no attempt starts past it. */
const BUDGET_MS = 420_000;
/** How long one stop may take before what it stops is killed. */
const STOP_MS = 30_000;
const HOOK_MS = BUDGET_MS + 2 * LAUNCH_MS + 60_000;
const HOST = join(import.meta.dirname, "support", "replset-host.mjs");
let until = Number.POSITIVE_INFINITY;

/** The set's own process (replset-host.mjs). */
interface HostProcess {
  child: ChildProcess;
  exited: Promise<unknown>;
}
/** A started set: its process, and the members' URIs it answered. */
interface Host extends HostProcess {
  members: string[];
}
let host: Host | undefined;
/** Why a member of the running set exited on its own, if one did. */
let memberLost: string | undefined;

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `work`, failed with `what` and why if it is not done within `ms` (and the budget). */
async function step<T>(what: string, most: number, work: Promise<T>): Promise<T> {
  const ms = Math.max(0, Math.min(most, until - Date.now()));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } catch (error) {
    throw new Error(`${what}: ${reason(error)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`, or nothing more of it after `ms`: a stop must not hang on what is gone. */
const within = (ms: number, work: Promise<unknown>) =>
  Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, ms).unref()),
  ]);

/**
 * Starts the set's process. It answers the members' URIs once a primary is elected, or the start
 * fails with the last step the process reached and what it said.
 */
function spawnHost(): {
  host: HostProcess;
  ready: Promise<{ uri: string; members: string[] }>;
} {
  const child = spawn(
    process.execPath,
    [HOST, String(MEMBERS), String(LAUNCH_MS), String(mongodPort()), "buckets"],
    // Its own process group: killing the group kills its mongods too.
    { detached: true, stdio: ["pipe", "pipe", "pipe"] },
  );
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let last = "spawning the set's process";
  let said = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    said = `${said}${chunk}`.slice(-1_000);
  });
  const ready = new Promise<{ uri: string; members: string[] }>((resolve, reject) => {
    const why = (what: string) => new Error(`${what} (last step: ${last}; stderr: ${said.trim()})`);
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on("line", (line) => {
      let event: {
        step?: string;
        ready?: boolean;
        members?: string[];
        uri?: string;
        lost?: string;
        failed?: string;
      };
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      if (event.step) last = event.step;
      if (event.lost) memberLost ??= event.lost;
      if (event.failed) reject(why(event.failed));
      if (event.ready && event.uri && event.members)
        resolve({ uri: event.uri, members: event.members });
    });
    child.once("exit", (code, signal) =>
      reject(why(`the set's process exited with ${code ?? signal}`)),
    );
  });
  // An abandoned attempt's start may still fail later: nobody awaits it then.
  ready.catch(() => undefined);
  return { host: { child, exited }, ready };
}

/** Stops the set's process, bounded: past STOP_MS its whole group (its mongods) is killed. */
async function stopHost({ child, exited }: HostProcess): Promise<void> {
  child.stdin?.end();
  await within(STOP_MS, exited);
  // After a clean stop the group is empty; else what is left of it (a mongod) goes now.
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // No process is left in the group.
  }
  await within(STOP_MS, exited);
}

/**
 * One attempt at the set and both services, each step bounded. A step that fails or runs late
 * abandons the attempt: what it started is stopped before the next (no mongod is left behind),
 * and the error says which step failed and how.
 */
async function startOnce(attempt: number): Promise<void> {
  const { host: started, ready } = spawnHost();
  const services: Promise<RunningService>[] = [];
  let client: MongoClient | undefined;
  try {
    const { uri, members } = await step(`starting ${MEMBERS} members`, LAUNCH_MS + 60_000, ready);
    client = await step("connecting", 30_000, MongoClient.connect(uri));
    await step(
      "a write taken by every member",
      60_000,
      client
        .db("buckets")
        .collection("probe")
        .insertOne({ attempt }, { writeConcern: { w: MEMBERS, wtimeoutMS: 50_000 } }),
    );
    // One after the other: two services creating the same new collections and indexes at once
    // make mongod throw and catch write conflicts, and under Wine catching one now and then
    // crashes it ("Unhandled exception ... access violation" in __DestructExceptionObject).
    for (const service of ["A", "B"]) {
      const starting = startService(options(uri));
      services.push(starting);
      await step(`starting service ${service}`, 60_000, starting);
    }
    [a, b] = (await Promise.all(services)) as [RunningService, RunningService];
    [host, mongo] = [{ ...started, members }, client];
  } catch (error) {
    // What this attempt started is let go, each bounded: a service still starting is closed
    // whenever it does start.
    await within(STOP_MS, client?.close() ?? Promise.resolve());
    await within(
      STOP_MS,
      Promise.allSettled(services.map((service) => service.then((s) => s.close()))),
    );
    await stopHost(started);
    throw error;
  }
}

/** Both services, the test's client and the set, each stop bounded. */
async function stopAll(): Promise<void> {
  await within(STOP_MS, mongo?.close() ?? Promise.resolve());
  await within(STOP_MS, a?.close() ?? Promise.resolve());
  await within(STOP_MS, b?.close() ?? Promise.resolve());
  if (host) await stopHost(host);
  host = undefined;
}

/**
 * Starts the set and both services. Each attempt's steps are bounded, and a failed attempt stops
 * what it started: the set starts within a few attempts, or the file fails saying which step of
 * each attempt failed and how.
 */
async function startSet(): Promise<void> {
  until = Date.now() + BUDGET_MS;
  const failures: string[] = [];
  for (let attempt = 1; attempt <= ATTEMPTS && Date.now() < until; attempt++) {
    memberLost = undefined;
    try {
      await startOnce(attempt);
      if (failures.length > 0) console.warn(`replset started after: ${failures.join("; ")}`);
      return;
    } catch (error) {
      failures.push(`attempt ${attempt}: ${reason(error)}`);
      console.warn(`replset: ${failures.at(-1)}`);
    }
  }
  throw new Error(`the replica set did not start: ${failures.join("; ")}`);
}

/** The member that is primary now, by asking each. */
async function primaryMember(members: string[]): Promise<string | undefined> {
  for (const member of members) {
    const direct = await MongoClient.connect(`${member}?directConnection=true`);
    try {
      const hello = await direct.db("admin").command({ hello: 1 });
      if (hello.isWritablePrimary === true) return member;
    } finally {
      await direct.close();
    }
  }
  return undefined;
}

beforeAll(startSet, HOOK_MS);
// Under Wine a member now and then exits mid-test ("immediate exit due to unhandled exception"):
// the set's process says so, and the test is tried again (see the describe's retry) on a new set.
// A failure with the set whole fails as often as it is tried.
beforeEach(async () => {
  if (!memberLost) return;
  console.warn(`replset: mongod exited during the tests (${memberLost}); starting a new set`);
  await stopAll();
  await startSet();
}, HOOK_MS);
afterAll(stopAll, HOOK_MS);

const call = async (service: RunningService, method: string, path: string, body?: unknown) => {
  const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
};
const metric = async (service: RunningService, name: string) => {
  // /metrics needs a token; without one the page is a 401 and every count would read 0.
  const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
  const response = await fetch(`${service.url}/metrics`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const text = await response.text();
  return Number(new RegExp(`^${name} (\\d+)`, "m").exec(text)?.[1] ?? 0);
};

describe("two instances on one replica set", { retry: 2 }, () => {
  it("stepping the primary down under load loses no acknowledged deposit; callers see at most 503s", {
    timeout: 120_000,
  }, async () => {
    const token = mintToken(a.keys, { user: "admin", scopes: ["admin"] });
    const acknowledged: string[] = [];
    const statuses = new Set<number>();
    let loading = true;
    // Timed out or failed, the test leaves no depositor running into the next.
    onTestFinished(() => {
      loading = false;
    });
    const depositor = async (service: RunningService, n: number) => {
      for (let round = 0; loading; ) {
        // Fixed ids and creation times, so that a batch refused with 503 is retried as the same works.
        const id = (i: number) =>
          `${n.toString(16).padStart(4, "0")}${round.toString(16).padStart(10, "0")}${i.toString(16).padStart(10, "0")}`;
        const works = Array.from({ length: 10 }, (_, i) =>
          aWork({ id: id(i), creation: 1000 + round, pipeline: "election", user: "admin" }),
        );
        const response = await fetch(`${service.url}/work?return_ids=true`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(works),
        });
        statuses.add(response.status);
        if (response.status === 200) {
          acknowledged.push(...((await response.json()) as string[]));
          round++;
        } else {
          await response.arrayBuffer();
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      }
    };
    const load = [depositor(a, 1), depositor(b, 2)];
    await eventually(async () => (acknowledged.length >= 100 ? true : undefined), 60_000);
    const members = host?.members ?? [];
    const primary = await primaryMember(members);
    const direct = await MongoClient.connect(`${primary}?directConnection=true`);
    await direct
      .db("admin")
      .command({ replSetStepDown: 10, force: true })
      .catch(() => undefined);
    await direct.close();
    // Load goes on until the other member is primary and has taken more deposits from both.
    const atStepDown = acknowledged.length;
    await eventually(async () => {
      const now = await primaryMember(members);
      return now !== undefined && now !== primary ? true : undefined;
    }, 60_000);
    await eventually(
      async () => (acknowledged.length >= atStepDown + 100 ? true : undefined),
      60_000,
    );
    loading = false;
    await Promise.all(load);

    expect([...statuses].filter((s) => s !== 200 && s !== 503)).toEqual([]);
    const stored = await mongo
      .db("buckets")
      .collection("works")
      .countDocuments({ pipeline: "election" });
    expect(stored).toBe(new Set(acknowledged).size);
    console.log(
      `step-down: ${acknowledged.length} works acknowledged, statuses ${[...statuses].join(",")}`,
    );
  });

  it("a long-poll on A wakes within 1 s when the deposit arrives at B (change streams)", {
    timeout: 30_000,
  }, async () => {
    const waiting = call(a, "POST", "/work/withdraw?wait=10", { pipeline: "cross" });
    await eventually(async () => (a.dispatcher.waiting === 1 ? true : undefined));
    const deposited = Date.now();
    await call(b, "POST", "/work", [aWork({ pipeline: "cross", user: "admin" })]);
    const got = await waiting;
    const latency = Date.now() - deposited;
    console.log(`long-poll latency across instances on a replica set: ${latency} ms`);
    expect(got.body).toMatchObject({ pipeline: "cross", attempt: 1 });
    expect(latency).toBeLessThan(1_000);
  });

  it("both reapers run, and each lapsed lease is expired exactly once", {
    timeout: 60_000,
  }, async () => {
    await call(
      a,
      "POST",
      "/work",
      Array.from({ length: 50 }, () => aWork({ pipeline: "lapse", user: "admin" })),
    );
    const claimed = (await call(b, "POST", "/work/withdraw?count=50", { pipeline: "lapse" }))
      .body as unknown[];
    expect(claimed).toHaveLength(50);
    const before =
      (await metric(a, "buckets_expiries_total")) + (await metric(b, "buckets_expiries_total"));
    await mongo
      .db("buckets")
      .collection("works")
      .updateMany({ pipeline: "lapse" }, { $set: { leaseUntil: Date.now() / 1000 - 1 } });
    const expired = async () =>
      (await metric(a, "buckets_expiries_total")) +
      (await metric(b, "buckets_expiries_total")) -
      before;
    // A reaper counts its lapses once its write is acknowledged, which on a replica set may come
    // after the works read as lapsed: wait for both.
    for (let i = 0; i < 100; i++) {
      const running = (
        await call(a, "POST", "/view/count", { query: { pipeline: "lapse", status: "running" } })
      ).body;
      if (running === 0 && (await expired()) >= 50) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    // Later passes expire none of them again: two more lapsed leases, one after the other, are
    // each expired once, and nothing else is.
    for (const n of [1, 2]) {
      await call(a, "POST", "/work", [aWork({ pipeline: `lapse-after-${n}`, user: "admin" })]);
      const after = (await call(b, "POST", "/work/withdraw", { pipeline: `lapse-after-${n}` }))
        .body as { id: string };
      expect(after).toMatchObject({ attempt: 1 });
      await mongo
        .db("buckets")
        .collection("works")
        .updateOne(
          { pipeline: `lapse-after-${n}` },
          { $set: { leaseUntil: Date.now() / 1000 - 1 } },
        );
      await eventually(async () => ((await expired()) >= 50 + n ? true : undefined), 30_000);
    }
    expect(await expired()).toBe(52);
    const works = (await call(a, "POST", "/view", { query: { pipeline: "lapse" } })).body as {
      status: string;
      attempt: number;
      history: { status: string }[];
    }[];
    // A failed attempt with its retry ahead, or already back in the queue.
    expect(works.every((w) => ["failure", "queued"].includes(w.status) && w.attempt === 1)).toBe(
      true,
    );
    expect(works.every((w) => w.history.filter((h) => h.status === "expired").length === 1)).toBe(
      true,
    );
  });

  it("no double claims when workers claim through both instances", {
    timeout: 60_000,
  }, async () => {
    await call(
      a,
      "POST",
      "/work",
      Array.from({ length: 300 }, () => aWork({ pipeline: "both", user: "admin" })),
    );
    const claimed: string[] = [];
    await Promise.all(
      [a, b, a, b, a, b].map(async (service) => {
        for (;;) {
          const got = (await call(service, "POST", "/work/withdraw?count=5", { pipeline: "both" }))
            .body as { id: string }[];
          if (got.length === 0) return;
          claimed.push(...got.map((w) => w.id));
        }
      }),
    );
    expect(claimed).toHaveLength(300);
    expect(new Set(claimed).size).toBe(300);
  });
});
