import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

/** Review of #merge: a step that grows from its needs' results, merged into a running run. */

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };
type Run = {
  status: string;
  steps: { name: string; state: string; works: number; grows?: string }[];
};

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
});
afterAll(async () => {
  await t.close();
});

const unique = (base: string) => `${base}-${new ObjectId().toHexString().slice(-8)}`;
const withdraw = async (pipeline: string) =>
  (await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline } }))
    .body as Claimed | null;
const succeed = (w: Claimed, results: Record<string, unknown>) =>
  t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id: w.id, attempt: w.attempt, status: "success", results }],
  });

const oneStep = (name: string) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  pipeline: { steps: [{ name: "split", work: { command: ["split"] } }] },
});
const process = (pipeline?: string) => ({
  name: "process",
  needs: ["split"],
  matrix: { part: "${{ needs.split.results.parts }}" },
  work: {
    command: ["process"],
    parameters: { p: "${{ matrix.part }}" },
    ...(pipeline ? { pipeline } : {}),
  },
});

async function start(name: string, token = t.tokens.alice): Promise<string> {
  const answer = await t.call("POST", "/runs", { token, body: { config: oneStep(name) } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  return (answer.body as { id: string }).id;
}

describe("merging a step that grows from its needs' results", () => {
  it("makes the step's works once its needs end, rather than ending it at once with none", async () => {
    const name = unique("grow-merge");
    const id = await start(name);
    const merged = await t.call("POST", `/runs/${id}/steps`, {
      token: t.tokens.alice,
      body: { steps: [process()] },
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    const split = (await withdraw(name)) as Claimed;
    expect((await succeed(split, { parts: ["a", "b", "c"] })).status).toBe(200);
    const parts: unknown[] = [];
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      parts.push(w.parameters?.p);
      await succeed(w, {});
    }
    expect(parts.sort()).toEqual(["a", "b", "c"]);
    const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as Run;
    expect(run.steps.find((s) => s.name === "process")?.works).toBe(3);
    expect(run.status).toBe("success");
  });

  it("refuses a grown step in a pipeline the token does not hold, as POST /runs does", async () => {
    const name = unique("grow-scope");
    const token = t.token("alice", ["work:deposit", "work:read"], [name]);
    const id = await start(name, token);
    const merged = await t.call("POST", `/runs/${id}/steps`, {
      token,
      body: { steps: [process(`${name}-other`)] },
    });
    expect(merged.status, JSON.stringify(merged.body)).toBe(403);
    const refused = await t.call("POST", "/runs", {
      token,
      body: {
        config: {
          ...oneStep(name),
          pipeline: { steps: [...oneStep(name).pipeline.steps, process(`${name}-other`)] },
        },
      },
    });
    expect(refused.status).toBe(403);
  });
});
