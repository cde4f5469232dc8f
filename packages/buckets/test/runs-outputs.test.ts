import { describe, expect, it } from "vitest";
import { runConfig } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

type Claimed = {
  id: string;
  attempt: number;
  parameters?: Record<string, unknown>;
  step?: string;
  matrix?: unknown;
};
type Viewed = { id: string; step?: string; matrix?: Record<string, unknown> };

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const config = (name: string) =>
  runConfig(name, [
    {
      name: "fit",
      matrix: { alpha: [1, 2], band: ["L", "S"] },
      work: {
        command: ["true"],
        parameters: { alpha: "${{ matrix.alpha }}", band: "${{ matrix.band }}" },
      },
    },
    {
      name: "sum",
      needs: ["fit"],
      work: { command: ["true"], parameters: { all: "${{ needs.fit.results.score }}" } },
    },
  ]);

async function ranRun(name: string): Promise<{ id: string; claimed: Claimed[] }> {
  const started = await t.call("POST", "/runs", {
    token: t.tokens.alice,
    body: { config: config(name) },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const claimed: Claimed[] = [];
  for (;;) {
    const answer = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: name },
    });
    const work = answer.body as Claimed | null;
    if (!work) break;
    claimed.push(work);
    const p = work.parameters ?? {};
    const results = { score: Number(p.alpha ?? 0) * 10 + (p.band === "S" ? 1 : 0) };
    const products = p.band ? [`/data/${p.alpha}${p.band}.h5`] : [];
    await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id: work.id, attempt: work.attempt, status: "success", results, products }],
    });
  }
  return { id: (started.body as { id: string }).id, claimed };
}

describe("a run's works say their step and combination", () => {
  it("in /view, queryable by step and by a matrix key; withdraw answers go without them", async () => {
    const name = fresh("placed");
    const { id, claimed } = await ranRun(name);
    expect(claimed).toHaveLength(5);
    expect(claimed.every((w) => w.step === undefined && w.matrix === undefined)).toBe(true);
    const view = async (query: Record<string, unknown>) =>
      (await t.call("POST", "/view", { token: t.tokens.alice, body: { query } })).body as Viewed[];
    const fits = await view({ "config.parent": id, step: "fit" });
    expect(fits.map((w) => w.matrix)).toEqual([
      { alpha: 1, band: "L" },
      { alpha: 1, band: "S" },
      { alpha: 2, band: "L" },
      { alpha: 2, band: "S" },
    ]);
    const s = await view({ "config.parent": id, "matrix.band": "S" });
    expect(s.map((w) => [w.step, w.matrix?.alpha])).toEqual([
      ["fit", 1],
      ["fit", 2],
    ]);
    const [sum] = await view({ "config.parent": id, step: "sum" });
    expect(sum).toMatchObject({ step: "sum" });
    expect(sum?.matrix).toBeUndefined();
    const shown = await t.call("GET", `/work/${fits[0]?.id}`, { token: t.tokens.alice });
    expect(shown.body).toMatchObject({ step: "fit", matrix: { alpha: 1, band: "L" } });
  });

  it("a deposit or an update cannot set them", async () => {
    const name = fresh("unplaced");
    const deposit = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [
        { pipeline: name, site: "local", user: "alice", command: ["true"], step: "x", matrix: {} },
      ],
    });
    expect(deposit.status).toBe(200);
    const [work] = (
      await t.call("POST", "/view", { token: t.tokens.alice, body: { query: { pipeline: name } } })
    ).body as Viewed[];
    expect(work?.step).toBeUndefined();
    const update = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id: work?.id, step: "fit" }],
    });
    expect(update.status).toBe(403);
    expect(JSON.stringify(update.body)).toMatch(/step never changes/);
  });
});

describe("GET /runs/:id/outputs", () => {
  it("answers each step's results and products in step and matrix order", async () => {
    const { id } = await ranRun(fresh("outputs"));
    const answer = await t.call("GET", `/runs/${id}/outputs`, { token: t.tokens.alice });
    expect(answer.status).toBe(200);
    const outputs = answer.body as {
      status: string;
      steps: { name: string; state: string; works: Record<string, unknown>[] }[];
    };
    expect(outputs.status).toBe("success");
    expect(outputs.steps.map((s) => [s.name, s.state, s.works.length])).toEqual([
      ["fit", "success", 4],
      ["sum", "success", 1],
    ]);
    expect(outputs.steps[0]?.works.map((w) => [w.matrix, w.results, w.products])).toEqual([
      [{ alpha: 1, band: "L" }, { score: 10 }, ["/data/1L.h5"]],
      [{ alpha: 1, band: "S" }, { score: 11 }, ["/data/1S.h5"]],
      [{ alpha: 2, band: "L" }, { score: 20 }, ["/data/2L.h5"]],
      [{ alpha: 2, band: "S" }, { score: 21 }, ["/data/2S.h5"]],
    ]);
    const one = await t.call("GET", `/runs/${id}/outputs?step=sum`, { token: t.tokens.alice });
    expect((one.body as { steps: { name: string }[] }).steps.map((s) => s.name)).toEqual(["sum"]);
  });

  it("refuses an unknown step or field with a 400 naming it, and another depositor finds no such run", async () => {
    const { id } = await ranRun(fresh("outputs-bad"));
    const unknown = await t.call("GET", `/runs/${id}/outputs?step=nope`, { token: t.tokens.alice });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toMatch(/has no step \\"nope\\"; its steps are fit, sum/);
    const extra = await t.call("GET", `/runs/${id}/outputs?stepp=fit`, { token: t.tokens.alice });
    expect(extra.status).toBe(400);
    expect(JSON.stringify(extra.body)).toMatch(/stepp/);
    // Scope, ownership and pipelines, token by token, are in authz-matrix.test.ts.
    const carol = t.token("carol", ["work:deposit"]);
    const other = await t.call("GET", `/runs/${id}/outputs`, { token: carol });
    expect(other.status).toBe(404);
  });
});
