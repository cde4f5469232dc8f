import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, type TestService } from "./support/service.js";

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
});
afterAll(() => t.close());

type Claimed = { id: string; priority: number; creation: number; site: string; attempt: number };
const withdraw = async (filter: object, token = t.tokens.worker) =>
  (await t.call("POST", "/work/withdraw", { token, body: filter })).body as Claimed | null;

describe("claim order", () => {
  it("gives priority 5 first, then the oldest, and never another site's work", async () => {
    const works = [];
    for (const site of ["north", "south"]) {
      for (let priority = 1; priority <= 5; priority++) {
        for (const creation of [300, 100, 200])
          works.push(aWork({ pipeline: "order", site, priority, creation: creation + priority }));
      }
    }
    works.sort(() => Math.random() - 0.5);
    await t.call("POST", "/work", { token: t.tokens.alice, body: works });

    const got: Claimed[] = [];
    for (
      let w = await withdraw({ pipeline: "order", site: "north" });
      w;
      w = await withdraw({ pipeline: "order", site: "north" })
    )
      got.push(w);
    expect(got).toHaveLength(15);
    expect(got.every((w) => w.site === "north")).toBe(true);
    const expected = [...got].sort((a, b) => b.priority - a.priority || a.creation - b.creation);
    expect(got.map((w) => [w.priority, w.creation])).toEqual(
      expected.map((w) => [w.priority, w.creation]),
    );
    expect(got[0]).toMatchObject({ priority: 5, creation: 105 });

    const south = await withdraw({ pipeline: { $in: ["elsewhere", "order"] } });
    expect(south).toMatchObject({ site: "south", priority: 5, creation: 105 });
  });

  it("claims a batch of 100 distinct works in claim order", async () => {
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: Array.from({ length: 120 }, (_, i) =>
        aWork({ pipeline: "batch", priority: (i % 5) + 1, creation: 1000 + i }),
      ),
    });
    const batch = (
      await t.call("POST", "/work/withdraw?count=100", {
        token: t.tokens.worker,
        body: { pipeline: "batch" },
      })
    ).body as Claimed[];
    expect(batch).toHaveLength(100);
    expect(new Set(batch.map((w) => w.id)).size).toBe(100);
    const sorted = [...batch].sort((a, b) => b.priority - a.priority || a.creation - b.creation);
    expect(batch.map((w) => w.id)).toEqual(sorted.map((w) => w.id));
    expect(batch.every((w) => w.attempt === 1)).toBe(true);
    const rest = (
      await t.call("POST", "/work/withdraw?count=100", {
        token: t.tokens.worker,
        body: { pipeline: "batch" },
      })
    ).body as Claimed[];
    expect(rest).toHaveLength(20);
  });
});

describe("claims are atomic", () => {
  it("2,000 works and 16 concurrent withdrawers: each claimed exactly once, none left", {
    timeout: 120_000,
  }, async () => {
    for (let at = 0; at < 2_000; at += 500) {
      await t.call("POST", "/work", {
        token: t.tokens.alice,
        body: Array.from({ length: 500 }, (_, i) => aWork({ pipeline: "race", event: [at + i] })),
      });
    }
    const claimed: string[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (
          let w = await withdraw({ pipeline: "race" });
          w;
          w = await withdraw({ pipeline: "race" })
        )
          claimed.push(w.id);
      }),
    );
    expect(claimed).toHaveLength(2_000);
    expect(new Set(claimed).size).toBe(2_000);
    const left = await t.call("POST", "/view/count", {
      body: { query: { pipeline: "race", status: "queued" } },
    });
    expect(left.body).toBe(0);
  });

  it("a claim is an index scan, never a collection scan, whatever the filter", async () => {
    const stages = (plan: unknown): string[] => {
      if (plan === null || typeof plan !== "object") return [];
      const node = plan as Record<string, unknown>;
      return [
        ...(typeof node.stage === "string" ? [node.stage] : []),
        ...Object.values(node).flatMap((child) =>
          Array.isArray(child) ? child.flatMap(stages) : stages(child),
        ),
      ];
    };
    for (const filter of [
      { pipeline: "race" },
      { pipeline: "order", site: "north" },
      { pipeline: { $in: ["order", "batch"] }, site: "south" },
      { pipeline: "race", priority: 3, tags: { $in: ["x"] } },
    ]) {
      const explained = (await t.service.ctx.store.explainClaim(filter, Date.now() / 1000)) as {
        queryPlanner: { winningPlan: unknown };
      };
      const used = stages(explained.queryPlanner.winningPlan);
      expect(used, JSON.stringify(filter)).toContain("IXSCAN");
      expect(used, JSON.stringify(filter)).not.toContain("COLLSCAN");
      expect(used, JSON.stringify(filter)).not.toContain("SORT");
    }
  });
});
