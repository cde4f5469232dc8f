import { describe, expect, it } from "vitest";
import { type Claimed, runCalls, runConfig, uniqueName } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

/** Review of #28: a parent's results become a grown step's data, never its expressions. */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);
const { withdraw, succeed, drain, startRun, getRun } = runCalls<{ status: string }>(t);

const config = (name: string) =>
  runConfig(name, [
    { name: "split", work: { command: ["split"] } },
    {
      name: "process",
      needs: ["split"],
      "max-parallel": 1,
      matrix: { part: "${{ needs.split.results.parts }}" },
      work: {
        command: ["process", "${{ matrix.part }}"],
        parameters: { p: "${{ matrix.part }}" },
      },
    },
  ]);

describe("a matrix made from a parent's results", () => {
  it("never reads a result that looks like an expression as one", async () => {
    const name = uniqueName("inject");
    const id = await startRun(config(name));
    const split = (await withdraw(name)) as Claimed;
    const parts = ["${{ needs.split.results.secret }}", "plain"];
    expect((await succeed(split, { parts, secret: "read-from-elsewhere" })).status).toBe(200);
    const seen = (await drain(name)).map((w) => w.parameters?.p);
    const run = await getRun(id);
    // The second work waited its turn (max-parallel 1): it too is given the data as it was.
    expect(seen).toEqual(parts);
    expect(run.status).toBe("success");
  });
});
