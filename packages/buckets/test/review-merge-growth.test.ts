import { describe, expect, it } from "vitest";
import { type Claimed, runCalls, runConfig, uniqueName } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

/** Review of #merge: a step that grows from its needs' results, merged into a running run. */

type Run = {
  status: string;
  steps: { name: string; state: string; works: number; grows?: string }[];
};

const { t } = useTestService(import.meta.filename, QUIET_REAPER);
const { withdraw, succeed, drain, post, startRun, getRun } = runCalls<Run>(t);

const oneStep = (name: string) =>
  runConfig(name, [{ name: "split", work: { command: ["split"] } }]);
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

describe("merging a step that grows from its needs' results", () => {
  it("makes the step's works once its needs end, rather than ending it at once with none", async () => {
    const name = uniqueName("grow-merge");
    const id = await startRun(oneStep(name));
    const merged = await post(`/runs/${id}/steps`, { steps: [process()] });
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    const split = (await withdraw(name)) as Claimed;
    expect((await succeed(split, { parts: ["a", "b", "c"] })).status).toBe(200);
    const parts = (await drain(name)).map((w) => w.parameters?.p);
    expect(parts.sort()).toEqual(["a", "b", "c"]);
    const run = await getRun(id);
    expect(run.steps.find((s) => s.name === "process")?.works).toBe(3);
    expect(run.status).toBe("success");
  });

  it("refuses a grown step in a pipeline the token does not hold, as POST /runs does", async () => {
    const name = uniqueName("grow-scope");
    const token = t.token("alice", ["work:deposit", "work:read"], [name]);
    const id = await startRun(oneStep(name), undefined, token);
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
