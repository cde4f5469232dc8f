import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { reap } from "../src/service/reaper.js";
import { LeaseLost } from "../src/service/runs/lease.js";
import {
  type Claimed,
  type RunView as Run,
  fitThenSum as twoSteps,
  uniqueName as unique,
  useRunService,
} from "./support/runs.js";

const {
  t,
  db,
  withdraw,
  claimAll,
  startRun: start,
  getRun,
  succeed,
  post,
} = useRunService<Run>(import.meta.filename);

describe("merging steps into a running run", () => {
  it("adds a step, and a replaced step runs again with what follows it while the rest keeps its results", async () => {
    const name = unique("merge");
    const id = await start(twoSteps(name));
    const fits = await claimAll(name);
    for (const w of fits) await succeed(w, { i: w.parameters?.i });
    const firstSum = (await withdraw(name)) as Claimed;
    const merged = await post(`/runs/${id}/steps`, {
      steps: [
        {
          name: "sum",
          needs: ["fit"],
          work: { command: ["true"], parameters: { total: "${{ needs.fit.results.i }}" } },
        },
        { name: "report", needs: ["sum"], work: { command: ["true"] } },
      ],
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toEqual({ id, added: ["report"], replaced: ["sum"], again: [], works: 2 });
    // The old sum's attempt is gone: its worker's report is refused, the run is not ended by it.
    const late = await succeed(firstSum);
    expect(late.status).toBeGreaterThanOrEqual(400);
    const [sum] = await claimAll(name);
    expect(sum?.parameters).toEqual({ total: [1, 2, 3] });
    await succeed(sum as Claimed);
    const [report] = await claimAll(name);
    await succeed(report as Claimed);
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => s.name)).toEqual(["fit", "sum", "report"]);
    // fit kept its works and their results.
    const fitWorks = await db
      .collection("works")
      .find({ run: new ObjectId(id), step: "fit" })
      .toArray();
    expect(fitWorks.map((w) => w._id.toHexString()).sort()).toEqual(fits.map((w) => w.id).sort());
    expect(run.events.find((e) => e.kind === "steps merged")?.detail).toBe(
      "added report; replaced sum",
    );
  });

  it("a replaced first step runs again with every step after it; their running works are stopped", async () => {
    const name = unique("merge-again");
    const config = twoSteps(name);
    config.pipeline.steps.push({ name: "plot", needs: ["sum"], work: { command: ["true"] } });
    const id = await start(config);
    const oldFits = await claimAll(name);
    for (const w of oldFits) await succeed(w, { i: w.parameters?.i });
    const oldSum = (await withdraw(name)) as Claimed;
    const merged = await post(`/runs/${id}/steps`, {
      steps: [
        {
          name: "fit",
          matrix: { i: [10, 20] },
          work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
        },
      ],
    });
    expect(merged.body).toEqual({
      id,
      added: [],
      replaced: ["fit"],
      again: ["sum", "plot"],
      works: 2,
    });
    const beat = await t.call("POST", `/work/${oldSum.id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    // Its worker is told to stop: the attempt it holds is over, the work waits for the new fit.
    expect(beat.status).toBe(409);
    expect(JSON.stringify(beat.body)).toContain("is no longer running (the work is waiting");
    const fits = await claimAll(name);
    expect(fits.map((w) => w.parameters?.i)).toEqual([10, 20]);
    for (const w of fits) await succeed(w, { i: w.parameters?.i });
    const [sum] = await claimAll(name);
    expect(sum?.id).toBe(oldSum.id);
    expect(sum?.parameters?.all).toEqual([10, 20]);
    await succeed(sum as Claimed);
    await succeed((await withdraw(name)) as Claimed);
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => [s.name, s.works, s.counts])).toEqual([
      ["fit", 2, { success: 2 }],
      ["sum", 1, { success: 1 }],
      ["plot", 1, { success: 1 }],
    ]);
  });

  it("a merged step that fans out from results, or runs from another, keeps doing so", async () => {
    const name = unique("merge-grow");
    const id = await start(twoSteps(name));
    const merged = await post(`/runs/${id}/steps`, {
      steps: [
        {
          name: "each",
          needs: ["sum"],
          matrix: { part: "${{ needs.sum.results.parts }}" },
          work: { command: ["true"], parameters: { part: "${{ matrix.part }}" } },
        },
        {
          name: "check",
          matrix: { from: "fit" },
          work: { command: ["true"], parameters: { fit: "${{ needs.fit.results.i }}" } },
        },
      ],
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ added: ["each", "check"], works: 3 });
    const seen: Claimed[] = [];
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      const p = w.parameters ?? {};
      await succeed(w, "all" in p ? { parts: ["a", "b"] } : { i: p.i });
      seen.push(w);
    }
    expect(seen.filter((w) => "part" in (w.parameters ?? {})).map((w) => w.parameters)).toEqual([
      { part: "a" },
      { part: "b" },
    ]);
    expect(seen.filter((w) => "fit" in (w.parameters ?? {})).map((w) => w.parameters?.fit)).toEqual(
      [1, 2, 3],
    );
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => [s.name, s.works])).toEqual([
      ["fit", 3],
      ["sum", 1],
      ["check", 3],
      ["each", 2],
    ]);
  });

  it("refuses, naming the step, a need that does not exist or a cycle; and an ended run", async () => {
    const name = unique("merge-bad");
    const id = await start(twoSteps(name));
    const unknown = await post(`/runs/${id}/steps`, {
      steps: [{ name: "plot", needs: ["nowhere"], work: { command: ["true"] } }],
    });
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(unknown.body)).toContain('step \\"plot\\"');
    expect(JSON.stringify(unknown.body)).toContain('no step is named \\"nowhere\\"');
    const cycle = await post(`/runs/${id}/steps`, {
      steps: '- name: fit\n  needs: [sum]\n  work: {command: ["true"]}\n',
    });
    expect(cycle.status).toBe(400);
    expect(JSON.stringify(cycle.body)).toContain("a cycle among steps");
    expect(JSON.stringify(cycle.body)).toContain('\\"fit\\"');
    // Nothing of a refused merge stays.
    expect((await getRun(id)).steps.map((s) => s.name)).toEqual(["fit", "sum"]);
    await post(`/runs/${id}/cancel`);
    const ended = await post(`/runs/${id}/steps`, {
      steps: [{ name: "plot", work: { command: ["true"] } }],
    });
    expect(ended.status).toBe(409);
    expect(JSON.stringify(ended.body)).toContain("steps merge only into a running run");
  });
});

describe("a merge cut short by a crash", () => {
  /** Stops the next merge at `point` as a crash would: its request never completes its work. */
  const crashAt = (point: string) => {
    t.service.ctx.failpoint = (at) => {
      if (at === point) throw new Error(`failpoint ${point}`);
    };
  };
  const threeSteps = (name: string) => {
    const config = twoSteps(name);
    config.pipeline.steps.push({ name: "plot", needs: ["sum"], work: { command: ["true"] } });
    return config;
  };

  it("stopped after the old works went, is finished by the run's next evaluation: the run ends consistent", async () => {
    const name = unique("merge-crash");
    const id = await start(threeSteps(name));
    for (const w of await claimAll(name)) await succeed(w, { i: w.parameters?.i });
    await succeed((await withdraw(name)) as Claimed);
    const plot = (await withdraw(name)) as Claimed;
    crashAt("merge:replaced");
    const merged = await post(`/runs/${id}/steps`, {
      steps: [
        {
          name: "sum",
          needs: ["fit"],
          work: { command: ["true"], parameters: { total: "${{ needs.fit.results.i }}" } },
        },
      ],
    });
    t.service.ctx.failpoint = undefined;
    expect(merged.status).toBe(500);
    // Half-way: nothing of the merged step runs before the merge is finished.
    expect(await withdraw(name)).toBeNull();
    await reap(t.service.ctx);
    const beat = await t.call("POST", `/work/${plot.id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
    });
    expect(beat.status).toBe(409);
    const sums = await claimAll(name);
    expect(sums.map((w) => w.parameters)).toEqual([{ total: [1, 2, 3] }]);
    await succeed(sums[0] as Claimed);
    const [again] = await claimAll(name);
    expect(again?.id).toBe(plot.id);
    await succeed(again as Claimed);
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => [s.name, s.works, s.counts])).toEqual([
      ["fit", 3, { success: 3 }],
      ["sum", 1, { success: 1 }],
      ["plot", 1, { success: 1 }],
    ]);
    expect(run.events.filter((e) => e.kind === "steps merged").map((e) => e.detail)).toEqual([
      "replaced sum; again plot",
    ]);
  });

  it("stopped before its works were stored, is undone: the run goes on as it was, and merges again", async () => {
    const name = unique("merge-undone");
    const id = await start(twoSteps(name));
    crashAt("merge:recorded");
    const steps = [{ name: "report", needs: ["sum"], work: { command: ["true"] } }];
    const merged = await post(`/runs/${id}/steps`, { steps });
    t.service.ctx.failpoint = undefined;
    expect(merged.status).toBe(500);
    // While its merger might still be storing works, an evaluation leaves it be.
    const first = (await withdraw(name)) as Claimed;
    await succeed(first, { i: first.parameters?.i });
    let run = await getRun(id);
    expect(run.events.map((e) => e.kind)).not.toContain("steps merge undone");
    // Once it cannot be, a report of one of its works evaluates the run, which undoes the merge.
    await db
      .collection("runs")
      .updateOne({ _id: new ObjectId(id) }, { $inc: { "merging.at": -120 } });
    const second = (await withdraw(name)) as Claimed;
    await succeed(second, { i: second.parameters?.i });
    run = await getRun(id);
    expect(run.steps.map((s) => s.name)).toEqual(["fit", "sum"]);
    expect(run.events.map((e) => e.kind)).toContain("steps merge undone");
    const again = await post(`/runs/${id}/steps`, { steps });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      await succeed(w, { i: w.parameters?.i });
    }
    run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => [s.name, s.works])).toEqual([
      ["fit", 3],
      ["sum", 1],
      ["report", 1],
    ]);
  });

  it("out of time (its lease lost), answers what happened: done once its works are stored, else a 409 and nothing stays", async () => {
    const outOfTimeAt = (point: string) => {
      t.service.ctx.failpoint = (at) => {
        if (at === point) throw new LeaseLost(`took too long at ${point}`);
      };
    };
    const name = unique("merge-late");
    const id = await start(twoSteps(name));
    const steps = [{ name: "report", needs: ["sum"], work: { command: ["true"] } }];
    outOfTimeAt("merge:recorded");
    const refused = await post(`/runs/${id}/steps`, { steps });
    t.service.ctx.failpoint = undefined;
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: "changed" } });
    expect(JSON.stringify(refused.body)).toContain("is undone; merge again in");
    await db
      .collection("runs")
      .updateOne({ _id: new ObjectId(id) }, { $inc: { "merging.at": -120 } });
    await reap(t.service.ctx);
    expect((await getRun(id)).events.map((e) => e.kind)).toContain("steps merge undone");
    outOfTimeAt("merge:replaced");
    const merged = await post(`/runs/${id}/steps`, { steps });
    t.service.ctx.failpoint = undefined;
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(merged.body).toMatchObject({ added: ["report"], works: 1 });
    // Finished by the run's next evaluation, as the answer promised.
    await reap(t.service.ctx);
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      await succeed(w, { i: w.parameters?.i });
    }
    const run = await getRun(id);
    expect(run.status).toBe("success");
    expect(run.steps.map((s) => [s.name, s.works])).toEqual([
      ["fit", 3],
      ["sum", 1],
      ["report", 1],
    ]);
  });
});
