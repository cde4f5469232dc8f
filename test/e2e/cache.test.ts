import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { mintToken } from "@workflow/buckets";
import { BucketsClient, type StoredWork } from "@workflow/work";
import type { WorkerHandle } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { serving } from "../support/works.js";

/**
 * Issue #29's figures with a real worker: a 3-step config with `cache: true`, run again and
 * again as its parameters, its data, its version and the cache's expiry change.
 */
const CONFIG = `
version: "2"
name: cached
defaults: {user: developer, site: local}
cache: true
params: {alpha: 1, code_version: "v1"}
pipeline:
  steps:
    - name: calibrate
      work:
        function: ./jobs.mjs#calibrate
        parameters: {name: beam}
    - name: fit
      needs: calibrate
      version: "\${{ params.code_version }}"
      work:
        function: ./jobs.mjs#fit
        parameters: {cal: "\${{ needs.calibrate.results.cal }}", alpha: "\${{ params.alpha }}"}
    - name: report
      needs: fit
      work:
        function: ./jobs.mjs#report
        parameters: {fit: "\${{ needs.fit.results.fit }}"}
`;

let stack: Stack;
const dir = useTempDir("cache-");
let client: BucketsClient;
let worker: WorkerHandle;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  // The calibration writes the bytes of calibration.txt: the test changes them, not its parameters.
  writeFileSync(join(dir, "calibration.txt"), "gain 1.0");
  writeFileSync(
    join(dir, "jobs.mjs"),
    `import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
export const calibrate = ({ name }) => {
  const path = join(process.cwd(), name + ".cal");
  writeFileSync(path, readFileSync(join(process.cwd(), "calibration.txt")));
  return { results: { cal: name }, products: [path] };
};
export const fit = ({ cal, alpha }) => ({ fit: cal + ":" + alpha });
export const report = ({ fit }) => ({ report: "fit " + fit });`,
  );
  client = stack.client({
    user: "developer",
    scopes: ["work:deposit", "work:read", "work:withdraw"],
  });
  worker = serving(client, ["cached", "cached-a", "cached-b"], dir);
});
afterAll(async () => {
  await worker.stop();
  await stack.close();
});

/** Starts a run of CONFIG and answers its works by step once it ended. */
async function runToEnd(params: Record<string, unknown> = {}) {
  const { id } = await client.startRun(CONFIG, params);
  return { id, ...(await ended(id)) };
}

async function ended(id: string) {
  const run = await eventually(async () => {
    const r = await client.run(id);
    return r.status === "running" ? undefined : r;
  });
  const works = await client.view({ "config.parent": id });
  const byStep = (name: string) => {
    const found = works.find((w) => w.function === `./jobs.mjs#${name}`);
    if (!found) throw new Error(`run ${id} has no ${name} work`);
    return found;
  };
  return { run, calibrate: byStep("calibrate"), fit: byStep("fit"), report: byStep("report") };
}

const ran = (w: StoredWork) => w.status === "success" && w.attempt > 0 && w.cached === undefined;
const reused = (w: StoredWork, from: StoredWork) =>
  w.status === "success" && w.attempt === 0 && w.cached?.from === from.id;

describe("works keyed by what they compute", () => {
  it("a second run is answered from the first without any attempt; a changed parameter, new data, an expiry and a new version run exactly what they affect", {
    timeout: 120_000,
  }, async () => {
    const first = await runToEnd();
    expect(first.run.status).toBe("success");
    expect([first.calibrate, first.fit, first.report].every(ran)).toBe(true);
    expect(first.calibrate.archive?.digests).toEqual({
      [join(dir, "beam.cal")]: expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    // The same config again: nothing runs, every work is the first run's success.
    const second = await runToEnd();
    expect(second.run.status).toBe("success");
    expect(reused(second.calibrate, first.calibrate)).toBe(true);
    expect(reused(second.fit, first.fit)).toBe(true);
    expect(reused(second.report, first.report)).toBe(true);
    expect(second.report.results).toEqual({ report: "fit beam:1" });
    expect(second.run.steps.map((s) => [s.name, s.cached])).toEqual([
      ["calibrate", 1],
      ["fit", 1],
      ["report", 1],
    ]);

    // One parameter of step 2 changes: steps 2 and 3 run, step 1 is reused.
    const third = await runToEnd({ alpha: 2 });
    expect(reused(third.calibrate, first.calibrate)).toBe(true);
    expect(ran(third.fit) && ran(third.report)).toBe(true);
    expect(third.report.results).toEqual({ report: "fit beam:2" });

    // Step 1 rerun writes other bytes under the same path: steps 2 and 3 run again, though
    // their parameters are the same.
    writeFileSync(join(dir, "calibration.txt"), "gain 1.1");
    await client.rerun(third.id, { steps: ["calibrate"], downstream: true });
    const rerun = await ended(third.id);
    // It was taken from the cache in that run: the rerun is its first attempt.
    expect(rerun.calibrate).toMatchObject({ status: "success", attempt: 1 });
    expect(rerun.calibrate.cached).toBeUndefined();
    expect(rerun.calibrate.archive?.digests).not.toEqual(third.calibrate.archive?.digests);
    expect(rerun.fit.key).not.toBe(third.fit.key);
    expect(rerun.fit.attempt).toBe(2);
    expect(rerun.report.attempt).toBe(2);

    // Expired from step 1 of that run on: the next run runs all three.
    const expiry = await client.expireCache({ run: third.id, step: "calibrate" });
    expect(expiry.keys).toBe(3);
    expect(expiry.expired).toBeGreaterThanOrEqual(3);
    const fourth = await runToEnd({ alpha: 2 });
    expect([fourth.calibrate, fourth.fit, fourth.report].every(ran)).toBe(true);

    // A new version of step 2's code runs step 2 and what follows; step 1 is reused.
    const fifth = await runToEnd({ alpha: 2, code_version: "v2" });
    expect(reused(fifth.calibrate, fourth.calibrate)).toBe(true);
    expect(ran(fifth.fit) && ran(fifth.report)).toBe(true);
    expect(fifth.fit.version).toBe("v2");

    const metrics = await fetch(`${stack.url}/metrics`, {
      headers: { authorization: `Bearer ${stack.token("admin", ["admin"])}` },
    }).then((r) => r.text());
    expect(metrics).toMatch(/^buckets_cache_hits_total [1-9]/m);
    expect(metrics).toMatch(/^buckets_cache_misses_total [1-9]/m);
  });

  it("a key is looked up only in the token's own pipelines: another pipeline's success never answers", {
    timeout: 60_000,
  }, async () => {
    const work = {
      site: "local",
      user: "developer",
      function: "./jobs.mjs#fit",
      parameters: { cal: "x", alpha: 7 },
      cache: true,
    };
    const a = stack.client({ user: "developer", scopes: ["work:deposit", "work:read"] });
    const [first] = await a.deposit([{ ...work, pipeline: "cached-a" }], { returnIds: true });
    const done = await eventually(async () => {
      const [w] = await a.view({ id: first });
      return w?.status === "success" ? w : undefined;
    });
    // The same work in pipeline a is answered at once, from the first.
    const [again] = await a.deposit([{ ...work, pipeline: "cached-a" }], { returnIds: true });
    const [answered] = await a.view({ id: again });
    expect(answered).toMatchObject({ status: "success", attempt: 0, cached: { from: first } });
    expect(answered?.key).toBe(done.key);
    // A token of pipeline b only: the same key, but b has no success of it, so it runs.
    const b = tokenFor(["cached-b"]);
    const [other] = await b.deposit([{ ...work, pipeline: "cached-b" }], { returnIds: true });
    const [queued] = await b.view({ id: other });
    expect(queued?.cached).toBeUndefined();
    expect(queued?.key).toBe(done.key);
    const ranInB = await eventually(async () => {
      const [w] = await b.view({ id: other });
      return w?.status === "success" ? w : undefined;
    });
    expect(ranInB.attempt).toBe(1);
    // Nor can b expire a's entries by their key: the expiry counts b's own only.
    expect(await b.expireCache({ key: done.key as string })).toEqual({ expired: 1, keys: 1 });
    const [stillUsable] = await a.deposit([{ ...work, pipeline: "cached-a" }], { returnIds: true });
    expect((await a.view({ id: stillUsable }))[0]?.cached?.from).toBe(first);
  });
});

/** A client whose token is limited to some pipelines. */
function tokenFor(pipelines: string[]): BucketsClient {
  const token = mintToken(stack.service.keys, {
    user: "developer",
    scopes: ["work:deposit", "work:read"],
    pipelines,
  });
  return new BucketsClient({ baseUrls: [stack.url], token, env: {} });
}
