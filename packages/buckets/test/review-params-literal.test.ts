import { describe, expect, it } from "vitest";
import { type Claimed, runCalls, runConfig, uniqueName as unique } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

/**
 * A run's params are data: a param whose value reads like `${{ ... }}` is written into its works as
 * that text, even where the field is filled again when the step is released (from its needs).
 */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);
const { withdraw, succeed, startRun } = runCalls(t);

const LITERAL = "${{ needs.first.results.secret }}";
const config = (name: string) =>
  runConfig(
    name,
    [
      { name: "first", work: { command: ["first"], parameters: { x: "${{ params.x }}" } } },
      {
        name: "second",
        needs: ["first"],
        work: {
          command: ["second", "${{ params.x }}"],
          parameters: { x: "${{ params.x }}", v: "${{ needs.first.results.v }}" },
        },
      },
    ],
    { params: { x: "default" } },
  );

describe("a param that reads like an expression", () => {
  it("is written into every work as the text it is, also where needs fill the work", async () => {
    const name = unique("literal");
    await startRun(config(name), { x: LITERAL });
    const first = (await withdraw(name)) as Claimed;
    expect(first.parameters).toEqual({ x: LITERAL });
    await succeed(first, { v: 1, secret: "read-from-elsewhere" });
    const second = (await withdraw(name)) as Claimed & { command: string[] };
    expect(second.parameters).toEqual({ x: LITERAL, v: 1 });
    expect(second.command).toEqual(["second", LITERAL]);
  });
});
