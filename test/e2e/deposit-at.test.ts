import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "../support/cli.js";
import { WORKFLOW_CLI } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";

const run = promisify(execFile);

let stack: Stack;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  env = cliEnv(stack);
});
afterAll(async () => {
  await stack.close();
});

const deposit = (pipeline: string, ...flags: string[]) =>
  run(
    process.execPath,
    [
      WORKFLOW_CLI,
      "deposit",
      "--pipeline",
      pipeline,
      "--site",
      "local",
      "--quiet",
      ...flags,
      "--",
      "true",
    ],
    { env },
  );

describe("workflow deposit --at / --in", () => {
  it("--in 10m: the work waits until then; --at a past time: claimable now", async () => {
    const before = Date.now() / 1000;
    await deposit("later", "--in", "10m");
    const [later] = await stack.client().view({ pipeline: "later" });
    expect(later?.notBefore).toBeGreaterThanOrEqual(before + 600);
    expect(later?.notBefore).toBeLessThan(Date.now() / 1000 + 601);
    const worker = stack.client({ user: "w", scopes: ["work:withdraw"] });
    expect(await worker.withdraw({ pipeline: "later" })).toBeNull();

    await deposit("at", "--at", "2026-12-01T02:00Z");
    const [at] = await stack.client().view({ pipeline: "at" });
    expect(at?.notBefore).toBe(Date.parse("2026-12-01T02:00Z") / 1000);

    await deposit("past", "--at", "2020-01-01T00:00Z");
    expect(await worker.withdraw({ pipeline: "past" })).toMatchObject({ pipeline: "past" });
  });

  it("refuses a time without a zone, a bad duration, and both at once, depositing nothing", async () => {
    for (const flags of [
      ["--at", "2026-12-01T02:00"],
      ["--in", "soon"],
      ["--at", "2026-12-01T02:00Z", "--in", "1h"],
    ]) {
      const failed = await deposit("refused", ...flags).then(
        () => ({ code: 0, stderr: "" }),
        (error: { code: number; stderr: string }) => error,
      );
      expect(failed.code, flags.join(" ")).toBe(2);
      expect(failed.stderr).toMatch(/zone|duration|not both/);
    }
    expect(await stack.client().count({ pipeline: "refused" })).toBe(0);
  });
});
