import type { StoredWork } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import type { CommandStartedEvent } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { broadcastOf, uniqueIndexesOffKey, wireWatch } from "../support/shard-wire.js";
import { eventually, type Stack, startStack } from "../support/stack.js";

/**
 * Shard-readiness from the commands the service really sends (no mongos installs here): the end
 * to end flows run with the driver's command monitoring on, and each fails on the first command
 * that would reach every shard without being one README's Sizing lists (marked `scatter:`).
 * A new flow is one more `it` here; the watch sees every command whatever sent it.
 */
const watch = wireWatch();
/** Seconds the service's clock is moved on: leases lapse and schedules come due without waiting. */
let skew = 0;
let stack: Stack;
const PIPELINES = ["wire-a", "wire-b", "wire-c"];
/**
 * The listed broadcasts a worker's own requests may cause: the background passes', which run
 * whenever they are due. Reading a work by id alone, a view or a count would be a hot-path scatter.
 */
const BACKGROUND = [
  /^scatter: the reaper's/,
  /^scatter: retention's/,
  /^scatter: the sweep/,
  /^scatter: the long-polls'/,
];
const onHotPath = (comments: string[]) =>
  comments.filter((comment) => !BACKGROUND.some((pattern) => pattern.test(comment)));

beforeAll(async () => {
  stack = await startStack(
    import.meta.filename,
    { BUCKETS_REAP_SECONDS: "1", BUCKETS_RETENTION_DAYS: "1", BUCKETS_SCHEDULE_SECONDS: "3600" },
    "",
    { onCommand: watch.onCommand, now: () => Date.now() / 1000 + skew },
  );
});
afterAll(() => stack.close());
afterEach(() => {
  // The first broadcast, named: the flow that sent it is the test that fails.
  const first = watch.first();
  const others = watch.all().length - 1;
  if (first) throw new Error(`a command would reach every shard: ${first} (and ${others} more)`);
});

const admin = () => stack.client();
const worker = () =>
  stack.client({ user: "worker", scopes: ["work:withdraw", "work:read"], workerId: "wire" });
/** Reports each of `done` a success, with the results `results` gives it, as its claimer. */
const succeedAll = (
  w: ReturnType<typeof worker>,
  done: StoredWork[],
  results: (d: StoredWork) => Record<string, unknown> = () => ({}),
) =>
  w.update(
    done.map((d) => ({
      id: d.id,
      pipeline: d.pipeline,
      attempt: d.attempt,
      claim: d.claim,
      status: "success" as const,
      results: results(d),
    })),
  );
/**
 * The YAML of config `name` as admin on site local, with `steps` under `pipeline.steps`; `defaults`
 * goes on in its defaults, `header` lines beside them.
 */
const yaml = (name: string, steps: string, { defaults = "", header = "" } = {}) => `
version: "2"
name: ${name}
defaults: {user: admin, site: local${defaults}}
${header}pipeline:
  steps:
${steps}`;
/** A flow's clients, once the watch has forgotten what came before it. */
const flow = () => {
  const clients = { client: admin(), w: worker() };
  watch.takeMarked();
  return clients;
};
const work = (pipeline: string, overrides: Record<string, unknown> = {}) => ({
  pipeline,
  site: "local",
  user: "admin",
  command: ["echo", "wire"],
  ...overrides,
});

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.token("admin", ["admin"])}`,
      "content-type": "application/json",
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  expect(response.status, `${method} ${path}: ${text}`).toBeLessThan(300);
  return text ? JSON.parse(text) : undefined;
}

describe("every command the service sends targets one shard, or is listed as reaching all", () => {
  it("deposits, claims of one and of three pipelines, batch claims, heartbeats, releases, logs, outcomes", async () => {
    const client = admin();
    watch.takeMarked();
    await client.deposit(PIPELINES.flatMap((p) => [0, 1, 2, 3].map(() => work(p))));
    const w = worker();
    const one = (await w.withdraw({ pipeline: "wire-a" })) as StoredWork;
    expect(one.pipeline).toBe("wire-a");
    const three = await w.withdraw({ pipeline: { $in: PIPELINES } }, { count: 5, lease: 30 });
    expect(three).toHaveLength(5);
    // Concurrent claims of one pipeline share a batch claim.
    const batches = await Promise.all(
      [0, 1].map(() => w.withdraw({ pipeline: "wire-b" }, { count: 2 })),
    );
    expect(batches.flat().length).toBeGreaterThan(0);
    const [held, released, logged] = three as [StoredWork, StoredWork, StoredWork];
    expect(await w.heartbeat(held)).toEqual({ cancel: false });
    await w.release(released);
    await w.appendLogs(logged, [{ stream: "stdout", text: "wire", t: Date.now() / 1000 }]);
    await w.update([
      {
        id: held.id,
        pipeline: held.pipeline,
        attempt: held.attempt,
        claim: held.claim,
        status: "success",
        results: { ok: 1 },
      },
      {
        id: one.id,
        pipeline: one.pipeline,
        attempt: one.attempt,
        claim: one.claim,
        status: "failure",
      },
    ]);
    expect(watch.seen()).toBeGreaterThan(0);
    expect(onHotPath(watch.takeMarked())).toEqual([]);
    // A client that names no pipeline (CHIME's) is still served, by a read listed as every shard's.
    const { pipeline: _, ...unnamed } = three[3] as StoredWork;
    expect(await w.heartbeat(unnamed)).toEqual({ cancel: false });
    expect(onHotPath(watch.takeMarked())).toEqual(["scatter: a work by id alone"]);
  });

  it("a worker of three pipelines long-polls, runs, heartbeats and reports", {
    timeout: 60_000,
  }, async () => {
    const client = admin();
    const served = ["wire-d", "wire-e", "wire-f"];
    watch.takeMarked();
    const daemon = startWorker({
      pipelines: served,
      client: worker(),
      lives: 3,
      concurrency: 2,
      wait: 2,
      sleep: 0.1,
      logger: createLogger("silent"),
    });
    // Deposited while it waits: the long-poll answers.
    const ids = await client.deposit(
      served.map((p) => work(p)),
      { returnIds: true },
    );
    await daemon.done;
    expect(onHotPath(watch.takeMarked())).toEqual([]);
    const done = await client.view({ pipeline: { $in: served }, status: "success" });
    expect(done.map((d) => d.id).sort()).toEqual([...ids].sort());
  });

  it("a pipeline with a fan-in runs to success", { timeout: 60_000 }, async () => {
    const client = admin();
    const { id } = await client.startRun(
      yaml(
        "wire-run",
        `    - name: fan
      stage: 1
      matrix: {x: [1, 2, 3]}
      work: {command: ["echo", "x=\${{ matrix.x }}"]}
    - name: in
      stage: 2
      work: {command: ["echo", "done"]}
`,
      ),
    );
    const daemon = startWorker({
      pipelines: ["wire-run"],
      client: worker(),
      lives: 4,
      concurrency: 3,
      wait: 2,
      sleep: 0.1,
      logger: createLogger("silent"),
    });
    await daemon.done;
    await eventually(async () => ((await client.run(id)).status === "success" ? true : undefined));
  });

  it("a run's works, found on its pipelines' shards: pause, a step grown in another pipeline, a merged one in a third, outputs, rerun, cancel, removal", {
    timeout: 60_000,
  }, async () => {
    const { client, w } = flow();
    const { id } = await client.startRun(
      yaml(
        "wire-control",
        `    - name: split
      work: {command: ["echo", "split"]}
    - name: parts
      needs: split
      matrix: {part: "\${{ needs.split.results.parts }}"}
      work: {pipeline: wire-grown, command: ["echo", "\${{ matrix.part }}"]}
`,
      ),
    );
    await client.pauseRun(id);
    await client.resumeRun(id);
    // Stored waiting in a pipeline the run did not name until the merge: found through it.
    await client.mergeSteps(
      id,
      `
- name: after
  needs: parts
  work: {pipeline: wire-merged, command: ["echo", "after"]}
`,
    );
    const succeed = async (pipeline: string, results: Record<string, unknown> = {}) => {
      const done = await w.withdraw({ pipeline }, { count: 5 });
      await succeedAll(w, done, () => results);
      return done.map((d) => d.command);
    };
    expect(await succeed("wire-control", { parts: [1, 2] })).toEqual([["echo", "split"]]);
    // Made from the results as the outcome was recorded, then released in turn.
    expect(await succeed("wire-grown")).toEqual([
      ["echo", "1"],
      ["echo", "2"],
    ]);
    expect(await succeed("wire-merged")).toEqual([["echo", "after"]]);
    const done = await eventually(async () => {
      const run = await client.run(id);
      return run.status === "success" ? run : undefined;
    });
    expect(done.pipelines).toEqual(["wire-control", "wire-grown", "wire-merged"]);
    expect(done.steps.map((s) => [s.name, s.works])).toEqual([
      ["split", 1],
      ["parts", 2],
      ["after", 1],
    ]);
    expect((await client.runOutputs(id)).steps.map((s) => s.works.length)).toEqual([1, 2, 1]);
    expect((await client.rerun(id, { steps: ["split"], downstream: true })).works).toBe(4);
    expect((await client.cancelRun(id)).cancelled).toBeGreaterThan(0);
    const query = encodeURIComponent(JSON.stringify({ id }));
    await call("DELETE", `/configs?name=wire-control&query=${query}`);
    const all = ["wire-control", "wire-grown", "wire-merged"];
    expect(await client.count({ pipeline: { $in: all } })).toBe(0);
    expect(onHotPath(watch.takeMarked())).toEqual([]);
  });

  it("a step from another starts each line as its own work succeeds, in another pipeline", {
    timeout: 60_000,
  }, async () => {
    const { client, w } = flow();
    const { id } = await client.startRun(
      yaml(
        "wire-lines",
        `    - name: fit
      matrix: {alpha: [1, 2]}
      work: {command: ["echo", "fit"], parameters: {alpha: "\${{ matrix.alpha }}"}}
    - name: evaluate
      matrix: {from: fit}
      work: {pipeline: wire-lines-b, command: ["echo"], parameters: {model: "\${{ needs.fit.results }}"}}
`,
        { defaults: ", retries: 0" },
      ),
    );
    const succeed = (done: StoredWork[]) => succeedAll(w, done, (d) => d.parameters ?? {});
    // An outcome that finds the run held by another evaluation (the reaper's sweep, each second
    // here) leaves it to the holder, which releases the line a moment after the answer.
    const released = () =>
      eventually(async () => {
        const got = await w.withdraw({ pipeline: "wire-lines-b" }, { count: 2 });
        return got.length > 0 ? got : undefined;
      });
    const fits = await w.withdraw({ pipeline: "wire-lines" }, { count: 2 });
    expect(fits).toHaveLength(2);
    await succeed(fits.slice(0, 1));
    // Its own line goes while the other fit runs: read by line (succeeded, waiting, results).
    const first = await released();
    expect(first.map((d) => d.parameters)).toEqual([{ model: fits[0]?.parameters }]);
    await succeed([...fits.slice(1), ...first]);
    await succeed(await released());
    await eventually(async () => ((await client.run(id)).status === "success" ? true : undefined));
    expect(onHotPath(watch.takeMarked())).toEqual([]);
  });

  it("the cache: a run and a deposit answered from it, a preview, expiries", {
    timeout: 60_000,
  }, async () => {
    const client = admin();
    const config = yaml(
      "wire-cache",
      `    - name: one
      work: {command: ["echo", "one"]}
    - name: two
      needs: one
      work: {command: ["echo", "two"]}
`,
      { header: "cache: true\n" },
    );
    const { id } = await client.startRun(config);
    const daemon = startWorker({
      pipelines: ["wire-cache"],
      client: worker(),
      lives: 2,
      concurrency: 1,
      wait: 2,
      sleep: 0.1,
      logger: createLogger("silent"),
    });
    await daemon.done;
    await eventually(async () => ((await client.run(id)).status === "success" ? true : undefined));
    await call("POST", "/runs/preview", { config });
    // Every work of the second run is answered from the first's, within the request.
    const again = await client.startRun(config);
    expect((await client.run(again.id)).status).toBe("success");
    await client.deposit([work("wire-cache", { command: ["echo", "one"], cache: true })]);
    await call("POST", "/cache/expire", { run: id, step: "two" });
    await call("POST", "/cache/expire", { pipeline: "wire-cache", olderThan: "1d" });
  });

  it("leases lapse and the reaper ends them; audits", async () => {
    const client = admin();
    await client.deposit([work("wire-lease", { retries: 1 }), work("wire-lease", { creation: 1 })]);
    const claimed = await worker().withdraw({ pipeline: "wire-lease" }, { lease: 5 });
    expect(claimed).not.toBeNull();
    skew += 60;
    await eventually(async () => {
      const [w] = await client.view({ id: (claimed as StoredWork).id });
      return w?.status === "running" ? undefined : w;
    });
    await client.audit({ staleDays: 1 });
  });

  it("a schedule's tick deposits once", async () => {
    const added = (await call("POST", "/schedules", {
      name: "wire-schedule",
      cron: "* * * * *",
      missed: "latest",
      target: { works: [work("wire-sched")] },
    })) as { id: string };
    skew += 120;
    await stack.service.ticker.evaluate();
    await eventually(async () =>
      (await admin().count({ pipeline: "wire-sched" })) > 0 ? true : undefined,
    );
    await call("GET", `/schedules/${added.id}`);
  });

  it("bulk actions, cancels, views and counts", async () => {
    const client = admin();
    const ids = await client.deposit(
      [0, 1, 2, 3].map(() => work("wire-bulk")),
      { returnIds: true },
    );
    await client.cancel(ids[0] as string);
    await client.bulk({
      query: { pipeline: "wire-bulk", status: "cancelled" },
      action: "retry",
      confirmed: 1,
    });
    await client.bulk({ query: { pipeline: "wire-bulk" }, action: "cancel", confirmed: 4 });
    await client.bulk({ query: { pipeline: "wire-bulk" }, action: "delete", confirmed: 4 });
    expect(await client.count({ pipeline: "wire-bulk" })).toBe(0);
    await client.status();
    await client.details("wire-a");
  });

  it("results: kept, replaced, queried, deleted", async () => {
    const [id] = await admin().deposit([work("wire-results")], { returnIds: true });
    const kept = { ...work("wire-results"), id, status: "success", results: { snr: 9 } };
    await call("POST", "/results-service/results", [kept]);
    await call("PUT", "/results-service/results", [{ ...kept, results: { snr: 10 } }]);
    await call("POST", "/results-service/view", { query: { pipeline: "wire-results" } });
    await call("DELETE", `/results-service/results?wire-results=${id}`);
  });

  it("the watch names a single-document write without its shard key, and a read without it", () => {
    const event = (commandName: string, command: Record<string, unknown>) =>
      ({ commandName, command }) as unknown as CommandStartedEvent;
    const claim = { findAndModify: "works", query: { status: "queued" }, sort: { priority: -1 } };
    expect(broadcastOf(event("findAndModify", claim))).toMatch(/^findAndModify on works without/);
    const several = { ...claim, query: { pipeline: { $in: ["a", "b"] }, status: "queued" } };
    expect(broadcastOf(event("findAndModify", several))).toMatch(/by equality/);
    expect(
      broadcastOf(event("findAndModify", { ...claim, query: { pipeline: "a" } })),
    ).toBeUndefined();
    const beat = { update: "works", updates: [{ q: { _id: 1, attempt: 2 }, multi: false }] };
    expect(broadcastOf(event("update", beat))).toMatch(/one document/);
    const read = { find: "works", filter: { status: "running" } };
    expect(broadcastOf(event("find", read))).toMatch(/not marked scatter/);
    expect(broadcastOf(event("find", { ...read, comment: "scatter: why" }))).toBeUndefined();
    expect(broadcastOf(event("insert", { insert: "newcomer", documents: [{}] }))).toMatch(
      /no shard key decided/,
    );
  });

  it("every unique index starts with its collection's shard key", async () => {
    expect(await uniqueIndexesOffKey(stack.service.database.db)).toEqual([]);
  });
});
