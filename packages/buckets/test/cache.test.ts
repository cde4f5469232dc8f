import { describe, expect, it } from "vitest";
import { yamlConfig } from "../../../test/support/configs.js";
import { runCalls } from "./support/runs.js";
import { aWork, useTestService } from "./support/service.js";
import { depositWork, viewWork } from "./support/works.js";

/** The cache (#29) through the API: its refusals, its ttl and expiry by age, and its keys. */
let skew = 0;
const { t } = useTestService(
  import.meta.filename,
  {},
  {
    hooks: { localClock: () => Date.now() + skew },
  },
);
const { withdraw, succeed: report, startRun, getRun } = runCalls<Summary>(t);

interface Stored {
  id: string;
  status: string;
  attempt: number;
  key?: string;
  cached?: { from: string };
  results?: Record<string, unknown>;
}

interface Summary {
  status: string;
  steps: { name: string; cached: number }[];
  events: { kind: string; step?: string; detail?: string }[];
}

/** What a config of these tests says beside its steps: every work answered from the cache. */
const CACHED = { header: ["cache: true"] };

/** Alice's work, deposited, as she reads it then. */
const deposit = async (work: Record<string, unknown>): Promise<Stored> =>
  viewWork<Stored>(t, await depositWork(t, work));

/** Claims the pipeline's next work as the worker and reports it a success. */
async function succeed(pipeline: string, results: Record<string, unknown>): Promise<string> {
  const work = await withdraw(pipeline);
  expect(work).not.toBeNull();
  expect((await report(work as { id: string; attempt: number }, results)).status).toBe(200);
  return work?.id as string;
}

/** Claims the pipeline's works ten at a time, each a success with `results`, until run `id` ends. */
async function finish(id: string, pipeline: string, results: Record<string, unknown>) {
  while ((await getRun(id)).status === "running") {
    const got = await t.call("POST", "/work/withdraw?count=10", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    const claimed = got.body as { id: string; attempt: number; claim: string }[];
    await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: claimed.map((w) => ({ ...w, status: "success", results })),
    });
  }
}

describe("refusals name the field and how to fix it", () => {
  it.each([
    [{ cache: "yes" }, 'cache must be true, false or { ttl: "30d", site: true }'],
    [{ cache: { ttl: "soon" } }, 'a duration looks like "30d"'],
    [{ cache: { ttl: "1d", forever: true } }, "forever"],
    [{ version: "" }, "version"],
  ])("a work with %j is a 400", async (fields, message) => {
    const put = await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork(fields)] });
    expect(put.status).toBe(400);
    expect((put.body as { error: { message: string } }).error.message).toContain(message);
  });

  it.each([
    [{}, "give one of: run and step, key, or pipeline"],
    [{ key: "k1:x", pipeline: "fit" }, "give one of"],
    [{ run: "0123456789abcdef01234567" }, "run and step go together"],
    [{ pipeline: "fit", olderThan: "later" }, 'a duration looks like "30d"'],
  ])("POST /cache/expire %j is a 400", async (body, message) => {
    const put = await t.call("POST", "/cache/expire", { token: t.tokens.alice, body });
    expect(put.status).toBe(400);
    expect((put.body as { error: { message: string } }).error.message).toContain(message);
  });

  it("an expiry of a run's unknown step names the run's steps", async () => {
    const config = yamlConfig("fit", ["    - name: one", '      work: {command: ["true"]}']);
    const run = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    const id = (run.body as { id: string }).id;
    await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.alice });
    const put = await t.call("POST", "/cache/expire", {
      token: t.tokens.alice,
      body: { run: id, step: "two" },
    });
    expect(put.status).toBe(400);
    expect((put.body as { error: { message: string } }).error.message).toContain(
      'has no step "two"; its steps are one',
    );
  });

  it("a preview of a config the service refuses is a 400, as POST /runs", async () => {
    const put = await t.call("POST", "/runs/preview", {
      token: t.tokens.alice,
      body: { config: 'version: "2"\nname: fit\npipeline: {steps: []}' },
    });
    expect(put.status).toBe(400);
    expect((put.body as { error: { message: string } }).error.message).toContain(
      "pipeline.steps must hold at least one step",
    );
  });
});

describe("keys and the ttl", () => {
  it("a key ignores the order of parameters and changes with them, the version and (if asked) the site", async () => {
    const a = await deposit({ pipeline: "keys", parameters: { x: 1, y: [1, 2] } });
    const b = await deposit({ pipeline: "keys", parameters: { y: [1, 2], x: 1 } });
    const c = await deposit({ pipeline: "keys", parameters: { x: 2, y: [1, 2] } });
    const d = await deposit({ pipeline: "keys", parameters: { x: 1, y: [1, 2] }, version: "v2" });
    expect(a.key).toMatch(/^k1:[0-9a-f]{64}$/);
    expect(b.key).toBe(a.key);
    expect(new Set([a.key, c.key, d.key]).size).toBe(3);
  });

  it("a success older than the ttl does not stand in; one within it does; expiry by age ends both", async () => {
    const work = { pipeline: "ttl", parameters: { snr: 9 } };
    await deposit(work);
    const first = await succeed("ttl", { found: 3 });
    const within = await deposit({ ...work, cache: { ttl: "1h" } });
    expect(within).toMatchObject({ status: "success", attempt: 0, cached: { from: first } });
    expect(within.results).toEqual({ found: 3 });

    skew = 2 * 3600 * 1000;
    const past = await deposit({ ...work, cache: { ttl: "1h" } });
    expect(past.status).toBe("queued");
    expect(past.cached).toBeUndefined();
    expect((await deposit({ ...work, cache: true })).cached?.from).toBe(first);

    const expired = await t.call("POST", "/cache/expire", {
      token: t.tokens.alice,
      body: { pipeline: "ttl", olderThan: "1h" },
    });
    // The first success, and the one that stood in for it then; not the one reused just now.
    expect(expired.body).toEqual({ expired: 2, keys: 0 });
    expect((await deposit({ ...work, cache: true })).status).toBe("queued");

    const metrics = await t.call("GET", "/metrics");
    expect(String(metrics.body)).toMatch(/^buckets_cache_hits_total 2$/m);
    expect(String(metrics.body)).toMatch(/^buckets_cache_misses_total 2$/m);
    skew = 0;
  });
});

describe("a run answered from the cache", () => {
  const config = yamlConfig(
    "paced",
    [
      "    - name: many",
      `      matrix: {i: [${[...Array(30).keys()].join(", ")}], max-parallel: 2}`,
      '      work: {command: ["true"], parameters: {i: "${{ matrix.i }}"}}',
      "    - name: after",
      "      needs: many",
      '      work: {command: ["true"], parameters: {all: "${{ needs.many.results.ok }}"}}',
    ],
    CACHED,
  );

  it("ends within the request that started it, max-parallel or not: reused works take no room", async () => {
    await finish(await startRun(config), "paced", { ok: 1 });
    const second = await getRun(await startRun(config));
    expect(second.status).toBe("success");
    expect(second.steps.map((s) => [s.name, s.cached])).toEqual([
      ["many", 30],
      ["after", 1],
    ]);
    expect(second.events.filter((e) => e.kind === "works reused")).toEqual([
      // Its first two when the run was created, the others when it was evaluated.
      expect.objectContaining({ step: "many", detail: "2" }),
      expect.objectContaining({ step: "many", detail: "28" }),
      expect.objectContaining({ step: "after", detail: "1" }),
    ]);
  });

  it("works a step makes from its parent's results at run time are answered from the cache too", async () => {
    const grows = yamlConfig(
      "grows",
      [
        "    - name: split",
        '      work: {command: ["split"]}',
        "    - name: process",
        "      needs: split",
        '      matrix: {part: "${{ needs.split.results.parts }}"}',
        '      work: {command: ["process"], parameters: {p: "${{ matrix.part }}"}}',
        "    - name: merge",
        "      needs: process",
        '      work: {command: ["merge"], parameters: {all: "${{ needs.process.results }}"}}',
      ],
      CACHED,
    );
    const first = await startRun(grows);
    await finish(first, "grows", { parts: ["a", "b", "c"] });
    expect((await getRun(first)).status).toBe("success");
    const second = await getRun(await startRun(grows));
    expect(second.status).toBe("success");
    expect(second.steps.map((s) => [s.name, s.cached])).toEqual([
      ["split", 1],
      ["process", 3],
      ["merge", 1],
    ]);
    expect(second.events).toContainEqual(
      expect.objectContaining({ kind: "works reused", step: "process", detail: "3" }),
    );
  });
});

describe("expiry by key reaches what was made from it; an edit does not keep a stale key", () => {
  const chain = yamlConfig(
    "chain",
    [
      '    - {name: a, work: {command: ["a"]}}',
      '    - {name: b, needs: a, work: {command: ["b"]}}',
      '    - {name: c, needs: b, work: {command: ["c"]}}',
    ],
    CACHED,
  );
  /** Runs the chain to its end as a worker would; answers each step's work. */
  const runChain = async () => {
    const id = await startRun(chain);
    await finish(id, "chain", {});
    const got = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { query: { "config.parent": id } },
    });
    const works = got.body as (Stored & { step: string })[];
    return Object.fromEntries(works.map((w) => [w.step, w])) as Record<string, Stored>;
  };
  const expire = async (key: string | undefined) =>
    (await t.call("POST", "/cache/expire", { token: t.tokens.alice, body: { key } })).body;

  it("--key expires the key's dependents in every run that has it, transitively, not its parents", async () => {
    const first = await runChain();
    expect(await expire(first.b?.key)).toEqual({ expired: 2, keys: 2 });
    const second = await runChain();
    expect(second.a?.cached?.from).toBe(first.a?.id);
    expect([second.b?.attempt, second.c?.attempt]).toEqual([1, 1]);
    // a's success in the second run is the first's, reused: b and c of both runs came from it.
    expect(await expire(first.a?.key)).toEqual({ expired: 4, keys: 3 });
    const third = await runChain();
    expect([third.a, third.b, third.c].map((w) => [w?.attempt, w?.cached])).toEqual([
      [1, undefined],
      [1, undefined],
      [1, undefined],
    ]);
  });

  it("an edited success loses its key; an edited queued work gets its new definition's key", async () => {
    const work = { pipeline: "edited", parameters: { x: 1 } };
    const done = await deposit(work);
    await succeed("edited", { x: 1 });
    const put = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id: done.id, parameters: { x: 2 } }],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    const edited = await viewWork<Stored>(t, done.id);
    expect(edited).toMatchObject({ status: "success", results: { x: 1 } });
    expect(edited?.key).toBeUndefined();
    // Its results are of x=1: it stands in for neither definition.
    expect((await deposit({ ...work, parameters: { x: 2 }, cache: true })).status).toBe("queued");
    expect((await deposit({ ...work, cache: true })).status).toBe("queued");

    const waiting = await deposit({ pipeline: "edited", parameters: { x: 5 } });
    await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id: waiting.id, parameters: { x: 6 } }],
    });
    const moved = await viewWork<Stored>(t, waiting.id);
    const fresh = await deposit({ pipeline: "edited", parameters: { x: 6 } });
    expect(moved?.key).toBe(fresh.key);
    expect(moved?.key).not.toBe(waiting.key);
  });
});
