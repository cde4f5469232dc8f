import { describe, expect, it } from "vitest";
import { createClaimer } from "../src/service/claimer.js";
import type { Query } from "../src/store/index.js";
import { stages } from "./support/plans.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename, {}, { emptied: true });

type Claimed = { id: string; priority: number; creation: number; status: string; attempt: number };

/** Deposits works in batches; answers their ids. */
async function depositAll(works: Record<string, unknown>[], batch = 500): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < works.length; i += batch) {
    const answer = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: works.slice(i, i + batch),
    });
    expect(answer.status).toBe(200);
    ids.push(...(answer.body as string[]));
  }
  return ids;
}

const count = async (query: object) =>
  (await t.call("POST", "/view/count", { body: { query } })).body as number;

/** Withdraws until null (or an empty batch); answers every id it got. */
async function withdrawLoop(filter: object, worker: string, batch?: number): Promise<string[]> {
  const got: string[] = [];
  const path = batch ? `/work/withdraw?count=${batch}` : "/work/withdraw";
  for (let round = 0; round < 5_000; round++) {
    const answer = await t.call("POST", path, {
      token: t.tokens.worker,
      body: filter,
      headers: { "x-worker-id": worker },
    });
    if (answer.status !== 200) {
      throw new Error(
        `${worker}: withdraw answered ${answer.status} ${JSON.stringify(answer.body)}`,
      );
    }
    const works = (batch ? answer.body : [answer.body].filter(Boolean)) as Claimed[];
    if (works.length === 0) return got;
    got.push(...works.map((w) => w.id));
  }
  throw new Error(`${worker}: still getting works after 5,000 withdraws`);
}

describe("no double claim", () => {
  it("16 concurrent workers claim 2,000 works, each exactly once", {
    timeout: 120_000,
  }, async () => {
    const total = 2_000;
    const ids = await depositAll(
      Array.from({ length: total }, (_, i) =>
        aWork({ pipeline: "race", priority: (i % 5) + 1, creation: 10_000 + (i % 97) }),
      ),
    );
    expect(new Set(ids).size).toBe(total);

    const claimed = await Promise.all(
      Array.from({ length: 16 }, (_, n) => withdrawLoop({ pipeline: "race" }, `racer-${n}`)),
    );
    const all = claimed.flat();
    expect(all).toHaveLength(total);
    expect(new Set(all).size).toBe(total);
    expect([...all].sort()).toEqual([...ids].sort());
    // The work was shared out, not taken by one loop while the others waited.
    expect(claimed.filter((got) => got.length > 0).length).toBeGreaterThan(1);

    expect(await count({ pipeline: "race", status: "queued" })).toBe(0);
    // Claimed once means one attempt and one history entry each.
    expect(await count({ pipeline: "race", status: "running", attempt: 1 })).toBe(total);
    expect(await count({ pipeline: "race", "history.attempt": 2 })).toBe(0);
    const status = (await t.call("GET", "/status/details/race")).body;
    expect(status).toMatchObject({ total, queued: 0, running: total });
  });

  it("single and batch claims racing each other never share a work", {
    timeout: 120_000,
  }, async () => {
    const total = 1_000;
    const ids = await depositAll(
      Array.from({ length: total }, (_, i) =>
        aWork({ pipeline: "mixed", priority: (i % 3) + 2, creation: 20_000 + i }),
      ),
    );
    const claimed = await Promise.all([
      ...Array.from({ length: 8 }, (_, n) => withdrawLoop({ pipeline: "mixed" }, `single-${n}`)),
      ...Array.from({ length: 8 }, (_, n) =>
        withdrawLoop({ pipeline: "mixed" }, `batch-${n}`, 7 + n),
      ),
    ]);
    const all = claimed.flat();
    expect(all).toHaveLength(total);
    expect([...new Set(all)].sort()).toEqual([...ids].sort());
    expect(await count({ pipeline: "mixed", status: "queued" })).toBe(0);
    expect(await count({ pipeline: "mixed", status: "running", attempt: 1 })).toBe(total);
  });

  it("?count=100 claims 100 distinct works in claim order and leaves the rest queued", async () => {
    const planned = Array.from({ length: 150 }, (_, i) => ({
      priority: ((i * 3) % 5) + 1,
      creation: 30_000 + ((i * 53) % 150),
    }));
    const ids = await depositAll(planned.map((p) => aWork({ pipeline: "batch", ...p })));
    const order = ids
      // Priority first, then the order received: the deposit order, whatever the creation.
      .map((id, i) => ({ id, at: i, priority: (planned[i] as { priority: number }).priority }))
      .sort((a, b) => b.priority - a.priority || a.at - b.at);

    const answer = await t.call("POST", "/work/withdraw?count=100", {
      token: t.tokens.worker,
      body: { pipeline: "batch" },
    });
    expect(answer.status).toBe(200);
    const batch = answer.body as Claimed[];
    expect(batch).toHaveLength(100);
    expect(new Set(batch.map((w) => w.id)).size).toBe(100);
    expect(batch.map((w) => w.id)).toEqual(order.slice(0, 100).map((w) => w.id));
    expect(batch.every((w) => w.status === "running" && w.attempt === 1)).toBe(true);

    expect(await count({ pipeline: "batch", status: "queued" })).toBe(50);
    const rest = (
      await t.call("POST", "/work/withdraw?count=100", {
        token: t.tokens.worker,
        body: { pipeline: "batch" },
      })
    ).body as Claimed[];
    expect(rest.map((w) => w.id)).toEqual(order.slice(100).map((w) => w.id));
    const none = await t.call("POST", "/work/withdraw?count=100", {
      token: t.tokens.worker,
      body: { pipeline: "batch" },
    });
    expect(none).toMatchObject({ status: 200, body: [] });
  });
});

describe("claims that arrive together", () => {
  it("each request gets its own count from the top of the queue, and each work names its worker", {
    timeout: 60_000,
  }, async () => {
    const planned = Array.from({ length: 60 }, (_, i) => ({
      priority: (i % 4) + 1,
      creation: 50_000 + ((i * 37) % 60),
    }));
    const ids = await depositAll(planned.map((p) => aWork({ pipeline: "together", ...p })));
    const order = ids
      // Priority first, then the order received: the deposit order, whatever the creation.
      .map((id, i) => ({ id, at: i, priority: (planned[i] as { priority: number }).priority }))
      .sort((a, b) => b.priority - a.priority || a.at - b.at)
      .map((w) => w.id);

    // 10 single claims and 3 batches of 5, 10 and 15, all sent at once: 40 works wanted.
    const wanted = [
      ...Array.from({ length: 10 }, (_, n) => ({ worker: `single-${n}`, count: undefined })),
      ...[5, 10, 15].map((count, n) => ({ worker: `batch-${n}`, count })),
    ];
    const answers = await Promise.all(
      wanted.map(({ worker, count }) =>
        t.call("POST", count ? `/work/withdraw?count=${count}` : "/work/withdraw", {
          token: t.tokens.worker,
          body: { pipeline: "together" },
          headers: { "x-worker-id": worker },
        }),
      ),
    );
    const got = new Map<string, string>();
    answers.forEach((answer, i) => {
      const { worker, count } = wanted[i] as { worker: string; count?: number };
      expect(answer.status, worker).toBe(200);
      const works = (count ? answer.body : [answer.body]) as Claimed[];
      expect(works, worker).toHaveLength(count ?? 1);
      for (const work of works) got.set(work.id, worker);
    });
    // Nobody shares a work, and together they took the 40 best, whatever the order they came in.
    expect(got.size).toBe(40);
    expect([...got.keys()].sort()).toEqual(order.slice(0, 40).sort());
    expect(await count({ pipeline: "together", status: "queued" })).toBe(20);

    // The stored history says who holds each attempt: the worker that received the work.
    const stored = await t.service.ctx.store.findByIds([...got.keys()]);
    expect(stored).toHaveLength(40);
    for (const doc of stored) {
      const holder = got.get(doc._id.toHexString());
      expect(doc.history?.at(-1)).toMatchObject({ attempt: 1, status: "running", worker: holder });
    }
  });

  it("batches more than one round can hold, at once, each get their count, together the best", {
    timeout: 60_000,
  }, async () => {
    // 8 batches of 50: more than one round claims (100), so the later batches wait for the rounds
    // before them and claim past the works those took.
    const planned = Array.from({ length: 600 }, (_, i) => ({ priority: ((i * 7) % 5) + 1 }));
    const ids = await depositAll(planned.map((p) => aWork({ pipeline: "overlap", ...p })));
    const best = ids
      .map((id, i) => ({ id, at: i, priority: (planned[i] as { priority: number }).priority }))
      .sort((a, b) => b.priority - a.priority || a.at - b.at)
      .slice(0, 400)
      .map((w) => w.id);
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        t.call("POST", "/work/withdraw?count=50", {
          token: t.tokens.worker,
          body: { pipeline: "overlap" },
          headers: { "x-worker-id": `batch-${n}` },
        }),
      ),
    );
    const got: string[] = [];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      const works = answer.body as Claimed[];
      expect(works).toHaveLength(50);
      // Each answer in claim order.
      const priorities = works.map((w) => w.priority);
      expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
      got.push(...works.map((w) => w.id));
    }
    expect(new Set(got).size).toBe(400);
    expect([...got].sort()).toEqual(best.sort());
    expect(await count({ pipeline: "overlap", status: "queued" })).toBe(200);
  });
});

describe("a lane that looks ahead", () => {
  it("claims only what its filter names, and all of it, while an earlier round writes", {
    timeout: 60_000,
  }, async () => {
    // Rounds of 100 for a filter that 50 of 300 works match: while the first round writes, the
    // next looks past the works being claimed, and must still look only among the 50.
    const ids = await depositAll(
      Array.from({ length: 300 }, (_, i) =>
        aWork({ pipeline: "ahead", tags: i % 6 === 0 ? ["mine"] : ["other"] }),
      ),
    );
    const named = ids.filter((_, i) => i % 6 === 0);
    const query = { pipeline: "ahead", $or: [{ tags: "mine" }, { priority: 99 }] };
    // Asked for in one turn of the event loop, so that all six wait when the first round's
    // candidates are found, and the next round looks ahead.
    const claim = createClaimer(t.service.ctx);
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, n) =>
        claim(query, { count: 100, worker: `ahead-${n}`, sub: "worker" }),
      ),
    );
    const got = answers.flat().map((work) => work.id);
    expect([...got].sort()).toEqual([...named].sort());
    expect(await count({ pipeline: "ahead", status: "queued" })).toBe(250);
  });
});

describe("a lane after concurrent claims", () => {
  it("answers a worker left alone at once, one work a request in claim order, with none repeated", {
    timeout: 60_000,
  }, async () => {
    // 8 workers claim at once: the lane then waits a moment for as many to come back. A worker that
    // comes back alone must still get its work, and the ones after it theirs, in claim order.
    const planned = Array.from({ length: 30 }, (_, i) => ({ priority: (i % 5) + 1 }));
    const ids = await depositAll(planned.map((p) => aWork({ pipeline: "alone", ...p })));
    const order = ids
      .map((id, i) => ({ id, at: i, priority: (planned[i] as { priority: number }).priority }))
      .sort((a, b) => b.priority - a.priority || a.at - b.at)
      .map((w) => w.id);
    const claim = (worker: string) =>
      t.call("POST", "/work/withdraw", {
        token: t.tokens.worker,
        body: { pipeline: "alone" },
        headers: { "x-worker-id": worker },
      });
    const together = await Promise.all(Array.from({ length: 8 }, (_, n) => claim(`many-${n}`)));
    const first = together.map((answer) => (answer.body as Claimed).id);
    expect(first.sort()).toEqual(order.slice(0, 8).sort());
    const alone: string[] = [];
    for (let n = 0; n < 12; n++) {
      const answer = await claim("alone");
      expect(answer.status).toBe(200);
      alone.push((answer.body as Claimed).id);
    }
    expect(alone).toEqual(order.slice(8, 20));
    expect(await count({ pipeline: "alone", status: "queued" })).toBe(10);
  });
});

describe("the claim's query plan", () => {
  it("is an index scan, never a collection scan, for the filters workers send", async () => {
    // Enough works, over several pipelines and sites, that a collection scan would be a choice.
    await depositAll(
      Array.from({ length: 300 }, (_, i) =>
        aWork({
          pipeline: ["p", "a", "b", "other"][i % 4],
          site: ["s", "t", "u"][i % 3],
          priority: (i % 5) + 1,
          creation: 40_000 + i,
        }),
      ),
    );
    const queries = [
      { pipeline: "p" },
      { pipeline: "p", site: "s" },
      { pipeline: { $in: ["a", "b"] }, site: "s" },
    ];
    for (const query of queries) {
      const explained = await t.service.ctx.store.explainClaim(query, Date.now() / 1000);
      const winning = (explained as { queryPlanner: { winningPlan: unknown } }).queryPlanner
        .winningPlan;
      const names = stages(winning);
      expect(names, JSON.stringify(query)).toContain("IXSCAN");
      expect(names, JSON.stringify(query)).not.toContain("COLLSCAN");
      // The index gives the claim order: no in-memory sort of every match.
      expect(names, JSON.stringify(query)).not.toContain("SORT");
    }
  });

  it("stays an index scan in claim order for CHIME's --tag, --event, --parent and a user", async () => {
    await depositAll(
      Array.from({ length: 400 }, (_, i) =>
        aWork({
          pipeline: ["f", "g"][i % 2],
          priority: (i % 5) + 1,
          tags: [`t${i % 7}`, "all"],
          event: [i % 11],
          config: { parent: `parent-${i % 3}` },
        }),
      ),
    );
    const cases: [Query, string][] = [
      [{ pipeline: "f", tags: { $in: ["t3"] } }, "claim_tags"],
      [{ pipeline: { $in: ["f", "g"] }, tags: { $in: ["t1", "t2"] } }, "claim_tags"],
      [{ pipeline: "f", event: { $in: [4] } }, "claim_event"],
      [{ pipeline: "g", user: "alice" }, "claim_user"],
      [{ pipeline: "f", "config.parent": { $in: ["parent-1"] } }, "claim_config_parent"],
    ];
    for (const [query, index] of cases) {
      const explained = (await t.service.ctx.store.explainClaim(query, Date.now() / 1000)) as {
        queryPlanner: { winningPlan: unknown };
      };
      const plan = JSON.stringify(explained.queryPlanner.winningPlan);
      const names = stages(explained.queryPlanner.winningPlan);
      expect(names, JSON.stringify(query)).toContain("IXSCAN");
      expect(names, JSON.stringify(query)).not.toContain("SORT");
      expect(plan, JSON.stringify(query)).toContain(`"indexName":"${index}"`);
    }
  });
});
