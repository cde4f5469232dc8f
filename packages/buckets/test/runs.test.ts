import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { CHIME_EXAMPLE } from "../../../test/support/chime-example.js";
import { reap } from "../src/service/reaper.js";
import { runCalls } from "./support/runs.js";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

type Claimed = {
  id: string;
  attempt: number;
  parameters?: Record<string, unknown>;
  command?: string[];
  tags?: string[];
};
type Run = {
  id: string;
  status: string;
  steps: { name: string; state: string; counts: Record<string, number> }[];
  events: { kind: string; step?: string; at: number }[];
};

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const start = (config: unknown, params?: Record<string, unknown>, token = t.tokens.alice) =>
  t.call("POST", "/runs", { token, body: { config, ...(params ? { params } : {}) } });

async function started(config: unknown, params?: Record<string, unknown>) {
  const answer = await start(config, params);
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as { id: string; works: string[] };
}

const { withdraw, report, drain, getRun } = runCalls<Run, Claimed>(t);
const stepOf = (run: Run, name: string) => run.steps.find((s) => s.name === name);

/** A + B -> ... config with the given steps, run as alice. */
const config = (name: string, steps: unknown[], extra: Record<string, unknown> = {}) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  pipeline: { steps },
  ...extra,
});
const step = (
  name: string,
  more: Record<string, unknown> = {},
  work: Record<string, unknown> = {},
) => ({
  name,
  ...more,
  work: {
    command: ["true"],
    ...work,
    parameters: { step: name, ...(work.parameters as Record<string, unknown> | undefined) },
  },
});

describe("the config", () => {
  it("accepts CHIME's example as it is, with the caller's default user refused for another's", async () => {
    const answer = await start(
      CHIME_EXAMPLE,
      undefined,
      t.token("developer", ["work:deposit", "work:read"]),
    );
    expect(answer.status).toBe(201);
    expect((answer.body as { works: string[] }).works).toHaveLength(9);
    const refused = await start(CHIME_EXAMPLE);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body)).toContain('belongs to user \\"developer\\"');
  });

  it.each([
    [
      "a cycle",
      [step("a", { needs: ["b"] }), step("b", { needs: ["a"] })],
      /step "a" \(pipeline.steps\[0\]\): needs: a cycle among steps "a", "b"/,
    ],
    [
      "an unknown need",
      [step("a", { needs: ["nope"] })],
      /step "a" .*needs: no step is named "nope"/,
    ],
    [
      "a matrix key that does not exist",
      [step("a", { matrix: { x: [1] } }, { parameters: { y: "${{ matrix.y }}" } })],
      /step "a" .*work.parameters.y: matrix.y: the step's matrix has no key "y"/,
    ],
    [
      "a param that does not exist",
      [step("a", {}, { parameters: { y: "${{ params.nope }}" } })],
      /step "a" .*work.parameters.y: params.nope: no such param/,
    ],
    [
      "results of a step it does not need",
      [step("a"), step("b", {}, { parameters: { y: "${{ needs.a.results.x }}" } })],
      /step "b" .*work.parameters.y: needs.a: "b" does not need a step "a"/,
    ],
    [
      "an expression that is not one",
      [step("a", {}, { parameters: { y: "${{ process.exit() }}" } })],
      /step "a" .*work.parameters.y: .*is not an expression/,
    ],
    [
      "a bad if",
      [step("a", { if: "sometimes()" })],
      /step "a" .*if: unknown function "sometimes\(\)"/,
    ],
    ["a work the schema refuses", [step("a", {}, { priority: 9 })], /step "a" .*priority/],
  ])(
    "refuses %s before storing anything, naming the step and the field",
    async (_what, steps, message) => {
      const name = fresh("refused");
      const answer = await start(config(name, steps));
      expect(answer.status).toBe(400);
      expect((answer.body as { error: { message: string } }).error.message).toMatch(message);
      expect(await db.collection("works").countDocuments({ pipeline: name })).toBe(0);
      expect(await db.collection("runs").countDocuments({ name })).toBe(0);
    },
  );

  it("is described in /openapi.json", async () => {
    const doc = (await t.call("GET", "/openapi.json", { token: null })).body as {
      paths: Record<string, unknown>;
      components: { schemas: Record<string, { properties?: object }> };
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/runs", "/runs/{id}", "/runs/{id}/cancel", "/runs/{id}/rerun"]),
    );
    expect(Object.keys(doc.components.schemas.PipelineConfig?.properties ?? {})).toEqual(
      expect.arrayContaining(["version", "name", "pipeline", "params", "callback"]),
    );
  });

  it("refuses hostile bodies with 400", async () => {
    for (const body of [
      null,
      [],
      "x",
      { config: 3 },
      { config: "::: not yaml" },
      { config: {}, extra: 1 },
      { config: "a: *x" },
    ]) {
      const answer = await t.call("POST", "/runs", { token: t.tokens.alice, body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect((await t.call("GET", "/runs/not-an-id", { token: t.tokens.alice })).status).toBe(400);
    expect(
      (await t.call("GET", `/runs/${new ObjectId().toHexString()}`, { token: t.tokens.alice }))
        .status,
    ).toBe(404);
  });
});

describe("a run", () => {
  it("runs CHIME's example, then a fan-in step that sums their results, in matrix order", async () => {
    const yaml = `${CHIME_EXAMPLE.replace("defaults: {user: developer, site: local}", "defaults: {site: local}").replace("example-pipeline", "example-sum")}
    - name: total
      stage: 2
      work:
        function: workflow.examples.function.total
        parameters: {sums: "\${{ needs.math.results.sum }}", label: "n=\${{ needs.math.results.sum }}"}
`;
    const { id, works } = await started(yaml);
    expect(works).toHaveLength(10);
    const stored = await db
      .collection("works")
      .find({ run: new ObjectId(id) })
      .toArray();
    expect(stored.filter((w) => w.status === "queued")).toHaveLength(9);
    expect(stored.filter((w) => w.status === "waiting")).toHaveLength(1);
    const math = await drain("example-sum", (w) => {
      if (w.parameters?.sums) return {};
      const { a, b } = w.parameters as { a: number; b: number };
      return { results: { sum: a + b } };
    });
    expect(math).toHaveLength(10);
    const fanIn = math.at(-1) as Claimed;
    // Matrix order: alpha varies slowest; numbers stay numbers.
    expect(fanIn.parameters?.sums).toEqual([2, 3, 4, 3, 4, 5, 4, 5, 6]);
    expect(fanIn.parameters?.label).toBe("n=[2,3,4,3,4,5,4,5,6]");
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(stepOf(run, "math")?.counts).toEqual({ success: 9 });
    expect(run.events.map((e) => e.kind)).toEqual([
      "submitted",
      "step started",
      "step succeeded",
      "step started",
      "step succeeded",
      "run succeeded",
    ]);
  });

  it("a diamond: D sees both B's and C's results, with their types", async () => {
    const name = fresh("diamond");
    const { id } = await started(
      config(name, [
        step("a"),
        step("b", { needs: ["a"] }, { parameters: { x: "${{ needs.a.results.n }}" } }),
        step("c", { needs: "a" }, { parameters: { x: "${{ needs.a.results.n }}" } }),
        step(
          "d",
          { needs: ["b", "c"] },
          {
            parameters: {
              b: "${{ needs.b.results.v }}",
              c: "${{ needs.c.results.v }}",
              missing: "${{ needs.b.results.nothing }}",
            },
          },
        ),
      ]),
    );
    const seen: Claimed[] = await drain(name, (w) => {
      const s = w.parameters?.step;
      if (s === "a") return { results: { n: 20 } };
      if (s === "b") return { results: { v: { deep: [(w.parameters?.x as number) + 1] } } };
      if (s === "c") return { results: { v: true } };
      return {};
    });
    expect(seen.map((w) => w.parameters?.step)).toEqual(["a", "b", "c", "d"]);
    expect(seen[1]?.parameters?.x).toBe(20);
    expect(seen[3]?.parameters).toEqual({ step: "d", b: { deep: [21] }, c: true, missing: null });
    expect((await getRun(id)).status).toBe("success");
  });

  it("a failure in B skips D; if: always() runs anyway, if: failure() only then", async () => {
    const build = (name: string) =>
      config(name, [
        step("a"),
        step("b", { needs: ["a"] }, { retries: 0 }),
        step("d", { needs: ["b"] }),
        step("e", { needs: ["d"] }),
        step("cleanup", { needs: ["e"], if: "always()" }),
        step("alarm", { needs: ["e"], if: "${{ failure() }}" }),
      ]);
    const failing = fresh("failing");
    const { id } = await started(build(failing));
    const ran = await drain(failing, (w) => ({
      status: w.parameters?.step === "b" ? "failure" : "success",
    }));
    const names = ran.map((w) => w.parameters?.step);
    expect(names).toEqual(["a", "b", "cleanup", "alarm"]);
    const run = await getRun(id);
    expect(Object.fromEntries(run.steps.map((s) => [s.name, s.state]))).toMatchObject({
      a: "success",
      d: "skipped",
      e: "skipped",
      cleanup: "success",
      alarm: "success",
    });
    expect(names).not.toContain("d");
    expect(run.status).toBe("failure");

    const passing = fresh("passing");
    const ok = await started(build(passing));
    const all = await drain(passing, () => ({}));
    expect(all.map((w) => w.parameters?.step)).toEqual(["a", "b", "d", "e", "cleanup"]);
    const after = await getRun(ok.id);
    expect(stepOf(after, "alarm")?.state).toBe("skipped");
    expect(after.status).toBe("success");
  });
});

describe("matrix and max-parallel", () => {
  it("expands include and exclude in matrix order, keeps types, and routes runs_on to tags", async () => {
    const name = fresh("matrix");
    const { works } = await started(
      config(
        name,
        [
          step(
            "m",
            {
              runs_on: "gpu",
              matrix: {
                x: [1, 2],
                y: ["a", "b"],
                exclude: [{ x: 2, y: "a" }],
                include: [
                  { x: 1, extra: true },
                  { x: 9, y: "z" },
                ],
              },
            },
            {
              parameters: {
                x: "${{ matrix.x }}",
                y: "${{ matrix.y }}",
                e: "${{ matrix.extra }}",
                s: "${{ params.scale }}",
              },
            },
          ),
        ],
        { params: { scale: 0.5 } },
      ),
    );
    expect(works).toHaveLength(4);
    const stored = await db
      .collection("works")
      .find({ pipeline: name }, { sort: { index: 1 } })
      .toArray();
    expect(stored.map((w) => w.parameters)).toEqual([
      { step: "m", x: 1, y: "a", e: true, s: 0.5 },
      { step: "m", x: 1, y: "b", e: true, s: 0.5 },
      { step: "m", x: 2, y: "b", e: null, s: 0.5 },
      { step: "m", x: 9, y: "z", e: null, s: 0.5 },
    ]);
    expect(stored.every((w) => w.tags.includes("gpu"))).toBe(true);
  });

  it("max-parallel: never more than K works of the step are running at once", async () => {
    const name = fresh("parallel");
    const { id } = await started(
      config(name, [
        step("root"),
        step(
          "fan",
          { needs: ["root"], matrix: { i: [1, 2, 3, 4, 5, 6, 7], "max-parallel": 3 } },
          {
            parameters: { i: "${{ matrix.i }}" },
          },
        ),
      ]),
    );
    await report((await withdraw(name)) as Claimed, "success");
    // Hold everything claimable, and check the step's running works each time.
    let most = 0;
    let held: Claimed[] = [];
    let finished = 0;
    while (finished < 7) {
      for (let w = await withdraw(name); w; w = await withdraw(name)) held.push(w);
      const running = await db
        .collection("works")
        .countDocuments({ run: new ObjectId(id), step: "fan", status: "running" });
      most = Math.max(most, running);
      expect(running).toBeLessThanOrEqual(3);
      expect(held.length).toBeGreaterThan(0);
      const [first, ...rest] = held;
      await report(first as Claimed, "success", { i: first?.parameters?.i });
      held = rest;
      finished++;
    }
    expect(most).toBe(3);
    expect((await getRun(id)).status).toBe("success");
  });
});

describe("fail-fast", () => {
  it("the first final failure of a fail-fast step cancels the step's other works", async () => {
    const name = fresh("failfast");
    const { id } = await started(
      config(name, [
        step(
          "m",
          { matrix: { i: [1, 2, 3, 4], "fail-fast": true } },
          { retries: 0, parameters: { i: "${{ matrix.i }}" } },
        ),
        step("after", { needs: ["m"] }),
      ]),
    );
    const first = (await withdraw(name)) as Claimed;
    const second = (await withdraw(name)) as Claimed;
    await report(first, "failure", { error: "diverged" });
    expect(await withdraw(name)).toBeNull();
    const beat = await t.call("POST", `/work/${second.id}/heartbeat?attempt=${second.attempt}`, {
      token: t.tokens.worker,
    });
    expect(beat.body).toEqual({ cancel: true });
    const run = await getRun(id);
    expect(stepOf(run, "m")?.counts).toEqual({ failure: 1, cancelled: 3 });
    expect(stepOf(run, "after")?.state).toBe("skipped");
    expect(run.status).toBe("failure");
  });
});

describe("rerun and cancel", () => {
  const diamond = (name: string) =>
    config(name, [
      step("a"),
      step(
        "b",
        { needs: ["a"], matrix: { k: [1, 2] } },
        { retries: 0, parameters: { k: "${{ matrix.k }}" } },
      ),
      step("c", { needs: ["a"] }),
      step("d", { needs: ["b", "c"] }, { parameters: { b: "${{ needs.b.results.v }}" } }),
    ]);

  it("rerun of B with downstream re-runs B and D, not A or C; failedOnly re-runs only failures", async () => {
    const name = fresh("rerun");
    const { id } = await started(diamond(name));
    let round = 0;
    const first = await drain(name, (w) => ({ results: { v: `${w.parameters?.step}${round}` } }));
    expect(first.map((w) => w.parameters?.step)).toEqual(["a", "b", "b", "c", "d"]);
    round = 1;
    const rerun = await t.call("POST", `/runs/${id}/rerun`, {
      token: t.tokens.alice,
      body: { steps: ["b"], downstream: true },
    });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(200);
    const again = await drain(name, (w) => ({ results: { v: `${w.parameters?.step}${round}` } }));
    expect(again.map((w) => w.parameters?.step)).toEqual(["b", "b", "d"]);
    expect(again[2]?.parameters?.b).toEqual(["b1", "b1"]);
    const history = await db
      .collection("works")
      .find({ run: new ObjectId(id), step: "b" })
      .toArray();
    expect(history.every((w) => w.attempt === 2)).toBe(true);
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.events.filter((e) => e.kind === "rerun")).toHaveLength(1);

    // One of b's two works fails; d is skipped. --failed reruns that one only, then d runs.
    const name2 = fresh("failed");
    const second = await started(diamond(name2));
    await drain(name2, (w) => ({
      status: w.parameters?.k === 2 ? "failure" : "success",
      results: { v: 1 },
    }));
    expect(stepOf(await getRun(second.id), "d")?.state).toBe("skipped");
    const failed = await t.call("POST", `/runs/${second.id}/rerun`, {
      token: t.tokens.alice,
      body: { failedOnly: true, downstream: true },
    });
    expect(failed.status, JSON.stringify(failed.body)).toBe(200);
    const retried = await drain(name2, () => ({ results: { v: 2 } }));
    expect(retried.map((w) => [w.parameters?.step, w.parameters?.k])).toEqual([
      ["b", 2],
      ["d", undefined],
    ]);
    expect(retried[1]?.parameters?.b).toEqual([1, 2]);
    expect((await getRun(second.id)).status).toBe("success");
    // Someone else's run: bob may not rerun or cancel it.
    const bob = await t.call("POST", `/runs/${second.id}/rerun`, { token: t.tokens.bob, body: {} });
    expect(bob.status).toBe(403);
  });

  it("cancel: nothing of the run is claimable, and a running work learns it at its next heartbeat", async () => {
    const name = fresh("cancel");
    const { id } = await started(diamond(name));
    const a = (await withdraw(name)) as Claimed;
    expect((await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.bob })).status).toBe(403);
    const cancelled = await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.alice });
    expect(cancelled.status).toBe(200);
    expect(await withdraw(name)).toBeNull();
    const beat = await t.call("POST", `/work/${a.id}/heartbeat?attempt=${a.attempt}`, {
      token: t.tokens.worker,
    });
    expect(beat.body).toEqual({ cancel: true });
    // Its late report changes nothing of the run.
    await report(a, "success", { v: 1 });
    expect(await withdraw(name)).toBeNull();
    const run = await getRun(id);
    expect(run.status).toBe("cancelled");
    expect(run.events.at(-1)?.kind).toBe("run cancelled");
    const counts = await db
      .collection("works")
      .countDocuments({ run: new ObjectId(id), status: { $ne: "cancelled" } });
    expect(counts).toBe(0);
    expect((await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      409,
    );
  });

  it("lists runs within the token's pipelines, with filters", async () => {
    const name = fresh("listed");
    const { id } = await started(config(name, [step("a")]));
    const mine = await t.call("GET", `/runs?name=${name}`, { token: t.tokens.alice });
    expect((mine.body as { id: string }[]).map((r) => r.id)).toEqual([id]);
    const elsewhere = t.token("alice", ["work:read"], ["other"]);
    const hidden = await t.call("GET", `/runs?name=${name}`, { token: elsewhere });
    expect(hidden.body).toEqual([]);
    expect((await t.call("GET", `/runs/${id}`, { token: elsewhere })).status).toBe(404);
    expect((await t.call("GET", "/runs?limit=0", { token: t.tokens.alice })).status).toBe(400);
  });
});

describe("releases", () => {
  it("a fan-in too large to store is skipped with an event that says why, not a failed request", async () => {
    const name = fresh("huge");
    const { id } = await started(
      config(name, [
        step("big", { matrix: { i: [1, 2, 3, 4] } }),
        step("all", { needs: ["big"] }, { parameters: { blobs: "${{ needs.big.results.blob }}" } }),
      ]),
    );
    const blob = "x".repeat(3_500_000);
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      expect((await report(w, "success", { blob })).status).toBe(200);
    }
    const run = await getRun(id);
    expect(stepOf(run, "all")?.state).toBe("skipped");
    expect(run.events.find((e) => e.kind === "works skipped")).toMatchObject({ step: "all" });
    expect(run.status).toBe("failure");
  });

  it("cancelling one work of a run decides its dependents in the same request", async () => {
    const name = fresh("cancel-one");
    const { id, works } = await started(
      config(name, [
        step("a"),
        step("b", { needs: ["a"] }),
        step("c", { needs: ["a"], if: "always()" }),
      ]),
    );
    expect(
      (await t.call("POST", `/work/${works[0]}/cancel`, { token: t.tokens.alice })).status,
    ).toBe(200);
    const run = await getRun(id);
    expect(stepOf(run, "b")?.state).toBe("skipped");
    expect(stepOf(run, "c")?.state).toBe("running");
    expect(((await withdraw(name)) as Claimed).parameters?.step).toBe("c");
  });

  it("a crash between an outcome and its release: the reaper's sweep releases it", async () => {
    const name = fresh("crash");
    const { id } = await started(config(name, [step("a"), step("b", { needs: ["a"] })]));
    const a = (await withdraw(name)) as Claimed;
    // The outcome is recorded, the release never happens (the instance died in between).
    await t.service.ctx.store.recordOutcomes(
      [
        {
          _id: new ObjectId(a.id),
          pipeline: name,
          attempt: a.attempt,
          transition: "succeed",
          results: { ok: 1 },
        },
      ],
      t.service.ctx.now(),
    );
    expect(await withdraw(name)).toBeNull();
    await reap(t.service.ctx);
    const b = (await withdraw(name)) as Claimed;
    expect(b.parameters?.step).toBe("b");
    await report(b, "success");
    expect((await getRun(id)).status).toBe("success");
  });

  it("a run whose works are still being stored is not evaluated; one a crash cut short is cancelled, saying why", async () => {
    const name = fresh("creating");
    const { id } = await started(config(name, [step("a"), step("b", { needs: ["a"] })]));
    const runs = db.collection("runs");
    const works = db.collection("works");
    const run = new ObjectId(id);
    // As if the instance were still storing the works, or had died doing it: none of a's is stored.
    await works.deleteMany({ run });
    await runs.updateOne({ _id: run }, { $set: { creating: true } });
    await reap(t.service.ctx);
    expect((await getRun(id)).status).toBe("running");
    await works.insertOne({ ...aWork({ pipeline: name }), status: "queued", run, step: "b" });
    // Ten minutes later it is taken for abandoned: cancelled, with an event that says why.
    await runs.updateOne({ _id: run }, { $inc: { created: -601 } });
    await reap(t.service.ctx);
    const ended = await getRun(id);
    expect(ended.status).toBe("cancelled");
    expect(ended.events.at(-1)).toMatchObject({
      kind: "run cancelled",
      detail: expect.stringMatching(/stopped while creating this run/),
    });
    expect(await withdraw(name)).toBeNull();
    expect((await works.findOne({ run }))?.status).toBe("cancelled");
  });
});
