import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { reap } from "../src/service/reaper.js";
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
const active = (run: Run) =>
  run.steps.reduce((n, s) => n + (s.counts.queued ?? 0) + (s.counts.running ?? 0), 0);

describe("max-parallel at the top of a config", () => {
  it("caps the run's queued-or-running works across all its steps", async () => {
    const name = unique("cap");
    const config = {
      version: "2",
      name,
      "max-parallel": 2,
      defaults: { site: "local" },
      pipeline: {
        steps: [
          { name: "a", matrix: { i: [1, 2, 3] }, work: { command: ["true"] } },
          { name: "b", matrix: { i: [1, 2, 3] }, work: { command: ["true"] } },
          { name: "c", needs: ["a", "b"], matrix: { i: [1, 2] }, work: { command: ["true"] } },
        ],
      },
    };
    const id = await start(config);
    expect((await getRun(id)).maxParallel).toBe(2);
    let done = 0;
    for (;;) {
      const run = await getRun(id);
      expect(active(run)).toBeLessThanOrEqual(2);
      if (run.status !== "running") break;
      const claimed = await claimAll(name);
      expect(claimed.length).toBeGreaterThan(0);
      expect(claimed.length).toBeLessThanOrEqual(2);
      for (const w of claimed) await succeed(w);
      done += claimed.length;
    }
    expect(done).toBe(8);
    expect((await getRun(id)).status).toBe("success");
  });

  it("holds with retries: a retried work past the cap waits its turn", async () => {
    const name = unique("cap-retry");
    const id = await start({
      version: "2",
      name,
      "max-parallel": 1,
      defaults: { site: "local", retries: 1 },
      pipeline: { steps: [{ name: "a", matrix: { i: [1, 2] }, work: { command: ["true"] } }] },
    });
    const first = (await withdraw(name)) as Claimed;
    await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id: first.id, attempt: first.attempt, status: "failure" }],
    });
    // The failure waits for its retry; the other work takes the one place.
    const second = (await withdraw(name)) as Claimed;
    expect(second.id).not.toBe(first.id);
    await db
      .collection("works")
      .updateOne({ _id: new ObjectId(first.id) }, { $set: { retryAt: 0 } });
    await reap(t.service.ctx);
    expect(active(await getRun(id))).toBe(1);
    expect(await withdraw(name)).toBeNull();
    await succeed(second);
    const retried = (await withdraw(name)) as Claimed;
    expect(retried.id).toBe(first.id);
    await succeed(retried);
    expect((await getRun(id)).status).toBe("success");
  });
});

describe("pause and resume", () => {
  it("a paused run queues nothing, its running work finishes and is recorded; resumed, it carries on", async () => {
    const name = unique("pause");
    const id = await start(twoSteps(name));
    const running = (await withdraw(name)) as Claimed;
    const paused = await post(`/runs/${id}/pause`);
    expect(paused.status, JSON.stringify(paused.body)).toBe(200);
    expect(paused.body).toEqual({ id, paused: true, waiting: 2 });
    expect(await withdraw(name)).toBeNull();
    expect((await succeed(running, { i: 1 })).status).toBe(200);
    let run = await getRun(id);
    expect(run.status).toBe("running");
    expect(run.paused).toBeTypeOf("number");
    expect(run.steps[0]?.counts).toEqual({ success: 1, waiting: 2 });
    // Pausing again changes nothing; a paused run is still cancelled as any other.
    expect((await post(`/runs/${id}/pause`)).body).toEqual({ id, paused: true, waiting: 0 });

    expect((await post(`/runs/${id}/resume`)).body).toEqual({ id, paused: false });
    run = await getRun(id);
    expect(run.paused).toBeUndefined();
    expect(run.events.map((e) => e.kind)).toContain("run paused");
    expect(run.events.map((e) => e.kind)).toContain("run resumed");
    for (const w of await claimAll(name)) await succeed(w, { i: w.parameters?.i });
    const [sum] = await claimAll(name);
    expect(sum?.parameters?.all).toEqual([1, 2, 3]);
    await succeed(sum as Claimed);
    expect((await getRun(id)).status).toBe("success");
  });

  it("only a running run can be paused: an ended one is a 409 that says why", async () => {
    const name = unique("pause-ended");
    const id = await start(twoSteps(name));
    await post(`/runs/${id}/cancel`);
    const refused = await post(`/runs/${id}/pause`);
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain(
      "is cancelled: only a running run can be paused",
    );
  });
});

describe("a cancelled run", () => {
  it("shows its steps that had not ended as cancelled, not running or waiting", async () => {
    const name = unique("cancel-ps");
    const id = await start(twoSteps(name));
    await post(`/runs/${id}/cancel`);
    const run = await getRun(id);
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ["fit", "cancelled"],
      ["sum", "cancelled"],
    ]);
  });

  it("rerun with failedOnly and nothing failed resets nothing and stays cancelled", async () => {
    const name = unique("cancel-failed");
    const id = await start(twoSteps(name));
    await succeed((await withdraw(name)) as Claimed, { i: 1 });
    await post(`/runs/${id}/cancel`);
    const rerun = await post(`/runs/${id}/rerun`, { failedOnly: true });
    expect(rerun.status).toBe(200);
    expect(rerun.body).toMatchObject({ works: 0 });
    const run = await getRun(id);
    expect(run.status).toBe("cancelled");
    expect(run.events.map((e) => e.kind)).not.toContain("rerun");
  });

  it("rerun with unfinishedOnly carries on with only what did not succeed", async () => {
    const name = unique("unfinished");
    const id = await start(twoSteps(name));
    const first = (await withdraw(name)) as Claimed;
    await succeed(first, { i: 1 });
    await post(`/runs/${id}/cancel`);
    const rerun = await post(`/runs/${id}/rerun`, { unfinishedOnly: true });
    expect(rerun.body).toMatchObject({ works: 3, steps: ["fit", "sum"] });
    const claimed = await claimAll(name);
    // The work that succeeded keeps its result and is not run again.
    expect(claimed.map((w) => w.id)).not.toContain(first.id);
    expect(claimed).toHaveLength(2);
    for (const w of claimed) await succeed(w, { i: w.parameters?.i });
    const [sum] = await claimAll(name);
    expect(sum?.parameters?.all).toEqual([1, 2, 3]);
    await succeed(sum as Claimed);
    expect((await getRun(id)).status).toBe("success");
  });
});
