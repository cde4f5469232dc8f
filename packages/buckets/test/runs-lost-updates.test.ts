import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { reap } from "../src/service/reaper.js";
import { sweepRuns } from "../src/service/runs/release.js";
import { runCalls, runConfig } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

/**
 * A run's bookkeeping is two writes or more (works, then the run): a failure or a sweep between
 * them must leave nothing queued twice, and nothing waiting for ever.
 */

type Claimed = { id: string; attempt: number };

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

type Run = { status: string; steps: { name: string; counts: Record<string, number> }[] };
const runs = runCalls<Run, Claimed>(t);
const { withdraw, getRun: runOf } = runs;
const started = (name: string, steps: unknown[]) => runs.startRun(runConfig(name, steps));
const report = async (work: Claimed) => expect((await runs.report(work)).status).toBe(200);

const countOf = (run: string, step: string, status: string[]) =>
  db.collection("works").countDocuments({ run: new ObjectId(run), step, status: { $in: status } });

/** Replaces a store function for its next call only. */
function once<T extends object, K extends keyof T>(
  target: T,
  key: K,
  instead: (original: T[K]) => T[K],
): void {
  const original = target[key];
  target[key] = ((...args: unknown[]) => {
    target[key] = original;
    return (instead(original) as (...a: unknown[]) => unknown)(...args);
  }) as T[K];
}

/** Claims and finishes every claimable work of the pipeline, checking the bound as it goes. */
async function drain(pipeline: string, run: string, step: string, bound: number): Promise<number> {
  let done = 0;
  for (let w = await withdraw(pipeline); w; w = await withdraw(pipeline)) {
    expect(await countOf(run, step, ["queued", "running"])).toBeLessThanOrEqual(bound);
    await report(w);
    done++;
  }
  return done;
}

describe("a release whose run save fails", () => {
  it("is not released again by the next sweep: max-parallel holds", async () => {
    const name = fresh("save-fails");
    const run = await started(name, [
      { name: "root", work: { command: ["true"] } },
      {
        name: "fan",
        needs: ["root"],
        matrix: { i: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "max-parallel": 5 },
        work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
      },
    ]);
    // The evaluation that releases `fan` queues its first 5 works, then fails to save the run.
    once(t.service.ctx.store.runs, "save", () => async () => {
      throw new Error("injected: the run's save failed");
    });
    await report((await withdraw(name)) as Claimed);
    expect(await countOf(run, "fan", ["queued"])).toBe(5);
    // Its lock lapses; the sweep evaluates the run again.
    await db
      .collection("runs")
      .updateOne({ _id: new ObjectId(run) }, { $set: { lockUntil: 0, checked: 0 } });
    await reap(t.service.ctx);
    expect(await countOf(run, "fan", ["queued", "running"])).toBe(5);
    expect(await drain(name, run, "fan", 5)).toBe(10);
    expect((await runOf(run)).status).toBe("success");
  });
});

describe("a rerun", () => {
  async function finishedRun(): Promise<{ name: string; run: string }> {
    const name = fresh("rerun");
    const run = await started(name, [
      { name: "a", work: { command: ["true"] } },
      { name: "b", needs: ["a"], work: { command: ["true"] } },
    ]);
    await report((await withdraw(name)) as Claimed);
    await report((await withdraw(name)) as Claimed);
    expect((await runOf(run)).status).toBe("success");
    return { name, run };
  }

  const rerun = (run: string) =>
    t.call("POST", `/runs/${run}/rerun`, { token: t.tokens.alice, body: {} });

  it("with a sweep between its two writes runs its works again, and ends once they have", async () => {
    const { name, run } = await finishedRun();
    // The sweep comes after the run is back to running, before its works are back to waiting.
    once(t.service.ctx.store.runWorks, "rerun", (original) => async (...args) => {
      await db.collection("runs").updateOne({ _id: new ObjectId(run) }, { $set: { checked: 0 } });
      await sweepRuns(t.service.ctx);
      return original(...args);
    });
    const answer = await rerun(run);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({ works: 2 });
    expect((await runOf(run)).status).toBe("running");
    const a = (await withdraw(name)) as Claimed;
    expect(a).toMatchObject({ attempt: 2 });
    await report(a);
    await report((await withdraw(name)) as Claimed);
    expect((await runOf(run)).status).toBe("success");
  });

  it("cut short between its two writes is finished by the sweep", async () => {
    const { name, run } = await finishedRun();
    once(t.service.ctx.store.runWorks, "rerun", () => async () => {
      throw new Error("injected: the instance died here");
    });
    expect((await rerun(run)).status).toBe(500);
    // Not at once: a rerun under way on another instance is left to finish.
    await reap(t.service.ctx);
    expect(await withdraw(name)).toBeNull();
    expect((await runOf(run)).status).toBe("running");
    // A minute later it is taken for abandoned, and finished.
    await db
      .collection("runs")
      .updateOne({ _id: new ObjectId(run) }, { $inc: { "rerunning.at": -61 } });
    await reap(t.service.ctx);
    const a = (await withdraw(name)) as Claimed;
    expect(a).toMatchObject({ attempt: 2 });
    await report(a);
    await report((await withdraw(name)) as Claimed);
    expect((await runOf(run)).status).toBe("success");
    expect(await countOf(run, "a", ["success"])).toBe(1);
  });

  it("cut short, then cancelled: the sweep leaves it cancelled, nothing of it waiting", async () => {
    const { run } = await finishedRun();
    once(t.service.ctx.store.runWorks, "rerun", () => async () => {
      throw new Error("injected: the instance died here");
    });
    expect((await rerun(run)).status).toBe(500);
    const cancelled = await t.call("POST", `/runs/${run}/cancel`, { token: t.tokens.alice });
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    await db
      .collection("runs")
      .updateOne({ _id: new ObjectId(run) }, { $inc: { "rerunning.at": -61 } });
    await reap(t.service.ctx);
    expect((await runOf(run)).status).toBe("cancelled");
    expect(await countOf(run, "a", ["waiting", "queued"])).toBe(0);
    expect(await countOf(run, "b", ["waiting", "queued"])).toBe(0);
  });
});
