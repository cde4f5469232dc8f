import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { QUIET_REAPER, useTestService } from "./support/service.js";

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

/** Claims up to 100 works at a time and reports them in one request, until none is left. */
async function drainBatches(pipeline: string, results: (w: Claimed) => Record<string, unknown>) {
  const done: Claimed[] = [];
  for (;;) {
    const claimed = (
      await t.call("POST", "/work/withdraw?count=100", {
        token: t.tokens.worker,
        body: { pipeline },
      })
    ).body as Claimed[] | { error: unknown };
    if (!Array.isArray(claimed)) throw new Error(JSON.stringify(claimed));
    if (claimed.length === 0) return done;
    const answer = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: claimed.map((w) => ({
        id: w.id,
        attempt: w.attempt,
        status: "success",
        results: results(w),
      })),
    });
    expect(answer.status).toBe(200);
    done.push(...claimed);
  }
}

describe("pipelines at scale (bounded sizes)", () => {
  it("a run of 2,000 matrix works plus a fan-in step", { timeout: 120_000 }, async () => {
    const config = {
      version: "2",
      name: "scale-fan",
      defaults: { site: "local" },
      pipeline: {
        steps: [
          {
            name: "many",
            matrix: { i: [...Array(40).keys()], j: [...Array(50).keys()] },
            work: { command: ["true"], parameters: { n: "${{ matrix.i }}", m: "${{ matrix.j }}" } },
          },
          {
            name: "sum",
            needs: ["many"],
            work: { command: ["true"], parameters: { all: "${{ needs.many.results.v }}" } },
          },
        ],
      },
    };
    const created = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    expect(created.status).toBe(201);
    const { id, works } = created.body as { id: string; works: string[] };
    expect(works).toHaveLength(2001);
    const done = await drainBatches("scale-fan", (w) => ({
      v: (w.parameters?.n as number) * 50 + (w.parameters?.m as number),
    }));
    expect(done).toHaveLength(2001);
    const fanIn = done.at(-1) as Claimed;
    // Every parent's result, in matrix order.
    expect(fanIn.parameters?.all).toEqual([...Array(2000).keys()]);
    const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as {
      status: string;
    };
    expect(run.status).toBe("success");
  });

  it("a chain of 50 steps, each passing its result to the next", { timeout: 120_000 }, async () => {
    const steps = [...Array(50).keys()].map((i) => ({
      name: `s${i}`,
      ...(i > 0 ? { needs: [`s${i - 1}`] } : {}),
      work: {
        command: ["true"],
        parameters: { previous: i > 0 ? `\${{ needs.s${i - 1}.results.depth }}` : -1 },
      },
    }));
    const config = {
      version: "2",
      name: "scale-chain",
      defaults: { site: "local" },
      pipeline: { steps },
    };
    const created = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    expect(created.status).toBe(201);
    const { id } = created.body as { id: string };
    const done = await drainBatches("scale-chain", (w) => ({
      depth: (w.parameters?.previous as number) + 1,
    }));
    expect(done.map((w) => w.parameters?.previous)).toEqual(
      [...Array(50).keys()].map((i) => i - 1),
    );
    const stored = await db
      .collection("works")
      .countDocuments({ run: new ObjectId(id), status: "success" });
    expect(stored).toBe(50);
    const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as {
      status: string;
      events: unknown[];
    };
    expect(run.status).toBe("success");
    expect(run.events).toHaveLength(1 + 50 * 2 + 1);
  });
});
