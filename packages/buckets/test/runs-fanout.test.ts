import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { runCalls } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

/** Works made from a parent's results (#28.1) and per-combination chains (#28.2), at the API. */

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };
type Step = {
  name: string;
  state: string;
  works: number;
  grows?: string;
  grown?: boolean;
  counts: Record<string, number>;
};
type Run = {
  id: string;
  status: string;
  steps: Step[];
  events: { kind: string; step?: string; detail?: string }[];
};

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const runs = runCalls<Run, Claimed>(t);
const { withdraw, getRun } = runs;
const report = async (work: Claimed, results: unknown, status = "success") => {
  const answer = await runs.report(work, status, results);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
};
const drain = (pipeline: string, results: (w: Claimed) => unknown) =>
  runs.drain(pipeline, (w) => ({ results: results(w) }));
const stepOf = (run: Run, name: string) => run.steps.find((s) => s.name === name) as Step;

/** split -> process (a matrix from split's results) -> merge, as the issue writes it. */
const fanOut = (name: string, matrix: Record<string, unknown>, more: object = {}) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  pipeline: {
    steps: [
      { name: "split", work: { command: ["split"] } },
      {
        name: "process",
        needs: ["split"],
        matrix,
        work: { command: ["process"], parameters: { p: "${{ matrix.partition }}" } },
        ...more,
      },
      {
        name: "merge",
        needs: ["process"],
        work: { command: ["merge"], parameters: { parts: "${{ needs.process.results }}" } },
      },
    ],
  },
});
const PARTITIONS = { partition: "${{ needs.split.results.partitions }}" };

/**
 * fit over alpha 1, 2, 3 -> evaluate (one per fit, given its results) -> report (one per
 * evaluate): a chain of one combination each. `report` says what the last step needs and is
 * given; `defaults` go beside site "local".
 */
const fitChain = (
  name: string,
  report: { needs?: string[]; parameters: Record<string, string> },
  defaults: Record<string, unknown> = {},
) => ({
  version: "2",
  name,
  defaults: { site: "local", ...defaults },
  pipeline: {
    steps: [
      {
        name: "fit",
        matrix: { alpha: [1, 2, 3] },
        work: { command: ["fit"], parameters: { alpha: "${{ matrix.alpha }}" } },
      },
      {
        name: "evaluate",
        matrix: { from: "fit" },
        work: { command: ["evaluate"], parameters: { model: "${{ needs.fit.results }}" } },
      },
      {
        name: "report",
        ...(report.needs ? { needs: report.needs } : {}),
        matrix: { from: "evaluate" },
        work: { command: ["report"], parameters: report.parameters },
      },
    ],
  },
});

async function start(config: unknown) {
  const answer = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return answer.body as { id: string; works: string[] };
}

/** Starts the run and reports split's outcome with these results. */
async function afterSplit(pipeline: string, results: unknown, more: object = {}) {
  const { id, works } = await start(fanOut(pipeline, PARTITIONS, more));
  expect(works).toHaveLength(2);
  const split = await withdraw(pipeline);
  expect(split?.parameters ?? {}).toEqual({});
  await report(split as Claimed, results);
  return id;
}

describe("a matrix from a parent's results", () => {
  it("makes its works when the parent ends, max-parallel at a time, and the fan-in gets every result", async () => {
    const pipeline = fresh("fan");
    const { id } = await start(fanOut(pipeline, PARTITIONS, { "max-parallel": 2 }));
    const before = stepOf(await getRun(id), "process");
    expect(before).toMatchObject({ works: 0, grown: false, state: "waiting" });
    expect(before.grows).toBe("fans out from split.partitions at run time");
    const split = (await withdraw(pipeline)) as Claimed;
    await report(split, { partitions: ["a", "b", "c", "d", "e"] });
    const made = stepOf(await getRun(id), "process");
    expect(made).toMatchObject({ works: 5, grown: true, counts: { queued: 2, waiting: 3 } });
    const processed = await drain(pipeline, (w) =>
      w.parameters?.p === undefined ? { merged: true } : { done: w.parameters.p },
    );
    expect(processed.slice(0, 5).map((w) => w.parameters?.p)).toEqual(["a", "b", "c", "d", "e"]);
    expect(processed[5]?.parameters).toEqual({
      parts: ["a", "b", "c", "d", "e"].map((p) => ({ done: p })),
    });
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.events).toContainEqual(
      expect.objectContaining({ kind: "works created", step: "process" }),
    );
  });

  it("an empty list gives a step with no works, which succeeds, and its dependents run", async () => {
    const pipeline = fresh("empty");
    const id = await afterSplit(pipeline, { partitions: [] });
    const [merge] = await drain(pipeline, () => ({ ok: true }));
    expect(merge?.parameters).toEqual({ parts: [] });
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(stepOf(run, "process")).toMatchObject({ state: "success", works: 0, grown: true });
  });

  it("include entries from results extend the combinations or add their own", async () => {
    const pipeline = fresh("include");
    const { id } = await start({
      ...fanOut(pipeline, { size: [1, 2], include: "${{ needs.split.results.extra }}" }),
    });
    const split = (await withdraw(pipeline)) as Claimed;
    await report(split, { extra: [{ size: 2, big: true }, { size: 9 }] });
    const run = await getRun(id);
    expect(stepOf(run, "process").works).toBe(3);
    // Works made at run time carry their combination as `matrix`, as works planned at submission
    // do: shown and queryable in /view.
    const viewed = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { query: { pipeline, step: "process" } },
    });
    expect(viewed.status).toBe(200);
    const combos = (viewed.body as { matrix?: unknown; creation: number }[]).map((w) => w.matrix);
    expect(combos).toEqual(
      expect.arrayContaining([{ size: 1 }, { size: 2, big: true }, { size: 9 }]),
    );
    expect(combos).toHaveLength(3);
    const big = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { query: { pipeline, "matrix.big": true } },
    });
    expect((big.body as { matrix: unknown }[]).map((w) => w.matrix)).toEqual([
      { size: 2, big: true },
    ]);
  });

  it.each([
    [
      "a string",
      { partitions: "abc" },
      'matrix.partition: needs.split.results.partitions is a string ("abc"), not a list',
    ],
    ["missing", { other: 1 }, "needs.split.results.partitions is missing, not a list"],
    ["a mapping", { partitions: { a: 1 } }, "is a mapping, not a list"],
  ])(
    "a result that is %s fails the step, naming it; the run ends failed",
    async (_, results, said) => {
      const pipeline = fresh("hostile");
      const id = await afterSplit(pipeline, results);
      const run = await getRun(id);
      expect(run.status).toBe("failure");
      expect(stepOf(run, "process")).toMatchObject({ state: "failure", works: 0 });
      expect(stepOf(run, "merge").state).toBe("skipped");
      const failed = run.events.find((e) => e.kind === "step failed" && e.step === "process");
      expect(failed?.detail).toContain('step "process"');
      expect(failed?.detail).toContain(said);
    },
  );

  it("a list past the run's work limit fails the step with the count, and creates nothing", async () => {
    const pipeline = fresh("huge");
    const id = await afterSplit(pipeline, { partitions: [...Array(10_001).keys()] });
    const run = await getRun(id);
    expect(stepOf(run, "process")).toMatchObject({ state: "failure", works: 0 });
    const failed = run.events.find((e) => e.kind === "step failed");
    expect(failed?.detail).toMatch(/step "process": it would create 10001 works.*at most 10000/);
    expect(await db.collection("works").countDocuments({ run: new ObjectId(id) })).toBe(2);
    // Two lists of 400 results would make 160,000: refused before they are built.
    const square = fresh("square");
    const { id: other } = await start(
      fanOut(square, { partition: PARTITIONS.partition, again: PARTITIONS.partition }),
    );
    await report((await withdraw(square)) as Claimed, { partitions: [...Array(400).keys()] });
    const said = (await getRun(other)).events.find((e) => e.kind === "step failed")?.detail;
    expect(said).toContain("more than 100000 works");
  });

  it("results nested deeper than a work's data may, once filled in, fail the step; the release loop carries on", async () => {
    const pipeline = fresh("deep");
    let deep: unknown = 1;
    for (let i = 0; i < 30; i++) deep = { d: deep };
    const work = {
      command: ["process"],
      parameters: { p: { a: { b: "${{ matrix.partition }}" } } },
    };
    const id = await afterSplit(pipeline, { partitions: [deep] }, { work });
    const run = await getRun(id);
    expect(stepOf(run, "process").state).toBe("failure");
    expect(run.events.find((e) => e.kind === "step failed")?.detail).toMatch(
      /step "process": work 0: parameters .*nested deeper than 32 levels/,
    );
    expect(await db.collection("works").countDocuments({ run: new ObjectId(id) })).toBe(2);
    const next = fresh("after-deep");
    const other = await afterSplit(next, { partitions: [1] });
    expect(stepOf(await getRun(other), "process").works).toBe(1);
  });

  it("a rerun of the parent makes the step again from its new results", async () => {
    const pipeline = fresh("regrow");
    const id = await afterSplit(pipeline, { partitions: [1, 2] });
    await drain(pipeline, () => ({ ok: 1 }));
    expect((await getRun(id)).status).toBe("success");
    const rerun = await t.call("POST", `/runs/${id}/rerun`, {
      token: t.tokens.alice,
      body: { steps: ["split"], downstream: true },
    });
    expect(rerun.status, JSON.stringify(rerun.body)).toBe(200);
    await report((await withdraw(pipeline)) as Claimed, { partitions: [7, 8, 9] });
    const again = await drain(pipeline, () => ({ ok: 1 }));
    expect(again.slice(0, 3).map((w) => w.parameters?.p)).toEqual([7, 8, 9]);
    expect(stepOf(await getRun(id), "process").works).toBe(3);
  });

  it("only the parent's claimer fills the list: another worker's success is refused and makes nothing", async () => {
    const pipeline = fresh("bound");
    const { id } = await start(fanOut(pipeline, PARTITIONS));
    const split = (await withdraw(pipeline)) as Claimed;
    const forged = await t.call("PUT", "/work", {
      token: t.token("node-b", ["work:withdraw", "work:read"]),
      body: [
        {
          id: split.id,
          attempt: split.attempt,
          status: "success",
          results: { partitions: [1, 2, 3] },
        },
      ],
    });
    expect(forged.status).toBe(403);
    expect(stepOf(await getRun(id), "process")).toMatchObject({ grown: false, works: 0 });
    await report(split, { partitions: ["own"] });
    const [own] = await drain(pipeline, () => ({ ok: 1 }));
    expect(own?.parameters).toEqual({ p: "own" });
  });

  it("refuses at submission a results list from a step it does not need, naming it", async () => {
    const config = fanOut(fresh("refused"), { partition: "${{ needs.merge.results.x }}" });
    const answer = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain(
      'matrix.partition: needs.merge: \\"process\\" does not need a step \\"merge\\"',
    );
  });
});

describe("refused at submission, naming the step and the field", () => {
  const refusal = async (config: unknown) => {
    const answer = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    expect(answer.status).toBe(400);
    return (answer.body as { error: { message: string } }).error.message;
  };

  it.each([
    [
      "a matrix key that is neither a list nor a parent's results",
      { partition: "${{ params.x }}" },
      "a matrix key takes a list, or a parent's results",
    ],
    [
      "an include that is neither",
      { include: "split" },
      'matrix.include: a matrix key takes a list, or a parent\'s results as "${{ needs.<step>.results.<path> }}" (alone in the string); include takes a list of mappings, or such results',
    ],
    ["from an unknown step", { from: "nowhere" }, 'matrix.from: no step is named "nowhere"'],
  ])("%s", async (_, matrix, said) => {
    expect(await refusal(fanOut(fresh("refusal"), matrix))).toContain(said);
  });

  it("a value made at run time may fill parameters and command only", async () => {
    const config = fanOut(fresh("refusal"), PARTITIONS, {
      work: { command: ["process"], tags: ["${{ matrix.partition }}"] },
    });
    expect(await refusal(config)).toContain(
      "work.tags[0]: matrix.partition: a matrix made at run time can fill only parameters and command",
    );
  });
});

describe("one combination through several steps (matrix.from)", () => {
  it("each work sees only its own combination's results, down a chain", async () => {
    const pipeline = fresh("chain");
    const { id, works } = await start(
      fitChain(pipeline, {
        needs: ["fit"],
        parameters: {
          alpha: "${{ matrix.alpha }}",
          score: "${{ needs.evaluate.results.score }}",
          fit: "${{ needs.fit.results.alpha }}",
        },
      }),
    );
    expect(works).toHaveLength(9);
    const seen = await drain(pipeline, (w) => {
      const p = w.parameters ?? {};
      if (p.model) return { score: (p.model as { alpha: number }).alpha * 10 };
      return { alpha: p.alpha };
    });
    const reports = seen.filter((w) => w.parameters?.score !== undefined);
    expect(reports.map((w) => w.parameters)).toEqual([
      { alpha: 1, score: 10, fit: 1 },
      { alpha: 2, score: 20, fit: 2 },
      { alpha: 3, score: 30, fit: 3 },
    ]);
    expect((await getRun(id)).status).toBe("success");
  });

  it("a line whose work failed is skipped down the chain; the other combinations carry on", async () => {
    const pipeline = fresh("lines");
    const { id } = await start(
      fitChain(pipeline, { parameters: { alpha: "${{ matrix.alpha }}" } }, { retries: 0 }),
    );
    const seen: Claimed[] = [];
    for (let w = await withdraw(pipeline); w; w = await withdraw(pipeline)) {
      const failing = w.parameters?.alpha === 2 && !("model" in (w.parameters ?? {}));
      await report(w, { alpha: w.parameters?.alpha }, failing ? "failure" : "success");
      seen.push(w);
    }
    expect(seen.filter((w) => "model" in (w.parameters ?? {})).map((w) => w.parameters)).toEqual([
      { model: { alpha: 1 } },
      { model: { alpha: 3 } },
    ]);
    const reports = seen.slice(-2).map((w) => w.parameters);
    expect(reports).toEqual([{ alpha: 1 }, { alpha: 3 }]);
    const run = await getRun(id);
    expect(run.status).toBe("failure");
    expect(stepOf(run, "evaluate").counts).toEqual({ success: 2, skipped: 1 });
    expect(stepOf(run, "report").counts).toEqual({ success: 2, skipped: 1 });
    expect(
      run.events.find((e) => e.kind === "works skipped" && e.step === "evaluate")?.detail,
    ).toBe("1 works: their own work of fit did not succeed (the other combinations carry on)");
  });

  it("a line starts as soon as its own work of the step it runs from succeeds, down the chain", async () => {
    const pipeline = fresh("early");
    const { id } = await start(
      fitChain(
        pipeline,
        {
          needs: ["fit"],
          parameters: {
            score: "${{ needs.evaluate.results.score }}",
            fit: "${{ needs.fit.results.alpha }}",
          },
        },
        { retries: 0 },
      ),
    );
    // Three workers hold the three fits.
    const fits = [await withdraw(pipeline), await withdraw(pipeline), await withdraw(pipeline)];
    expect(await withdraw(pipeline)).toBeNull();
    await report(fits[0] as Claimed, { alpha: 1 });
    // Its own line goes on while the other fits still run; theirs wait.
    let run = await getRun(id);
    expect(stepOf(run, "fit").state).toBe("running");
    expect(stepOf(run, "evaluate")).toMatchObject({
      state: "running",
      counts: { queued: 1, waiting: 2 },
    });
    const evaluate = (await withdraw(pipeline)) as Claimed;
    expect(evaluate.parameters).toEqual({ model: { alpha: 1 } });
    expect(await withdraw(pipeline)).toBeNull();
    await report(evaluate, { score: 10 });
    const first = (await withdraw(pipeline)) as Claimed;
    expect(first.parameters).toEqual({ score: 10, fit: 1 });
    await report(first, {});
    // Fit 2 fails: its line is skipped once fit ends; fit 3's line runs.
    await report(fits[1] as Claimed, {}, "failure");
    run = await getRun(id);
    expect(stepOf(run, "evaluate").counts).toEqual({ success: 1, waiting: 2 });
    await report(fits[2] as Claimed, { alpha: 3 });
    const rest = await drain(pipeline, (w) => ({ score: 30, got: w.parameters }));
    expect(rest.map((w) => w.parameters)).toEqual([{ model: { alpha: 3 } }, { score: 30, fit: 3 }]);
    run = await getRun(id);
    expect(run.status).toBe("failure");
    expect(stepOf(run, "evaluate").counts).toEqual({ success: 2, skipped: 1 });
    expect(stepOf(run, "report").counts).toEqual({ success: 2, skipped: 1 });
  });

  it("a step from another with its own if: waits for that whole step", async () => {
    const pipeline = fresh("early-if");
    await start({
      version: "2",
      name: pipeline,
      defaults: { site: "local", retries: 0 },
      pipeline: {
        steps: [
          { name: "fit", matrix: { alpha: [1, 2] }, work: { command: ["fit"] } },
          {
            name: "evaluate",
            matrix: { from: "fit" },
            if: "always()",
            work: { command: ["evaluate"] },
          },
        ],
      },
    });
    const [a, b] = [await withdraw(pipeline), await withdraw(pipeline)];
    await report(a as Claimed, {});
    expect(await withdraw(pipeline)).toBeNull();
    await report(b as Claimed, {});
    expect(await drain(pipeline, () => ({}))).toHaveLength(2);
  });

  it("a step from a fanned-out step is made with it, one work per partition", async () => {
    const pipeline = fresh("chain-fan");
    const base = fanOut(pipeline, PARTITIONS);
    base.pipeline.steps.splice(2, 1, {
      name: "check",
      matrix: { from: "process" },
      work: {
        command: ["check"],
        parameters: { p: "${{ matrix.partition }}", got: "${{ needs.process.results.done }}" },
      },
    } as never);
    const { id } = await start(base);
    await report((await withdraw(pipeline)) as Claimed, { partitions: ["x", "y"] });
    const seen = await drain(pipeline, (w) => ({ done: `${w.parameters?.p}!` }));
    expect(seen.slice(2).map((w) => w.parameters)).toEqual([
      { p: "x", got: "x!" },
      { p: "y", got: "y!" },
    ]);
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(stepOf(run, "check")).toMatchObject({ works: 2, grown: true });
  });
});
