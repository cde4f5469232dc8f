import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "../support/cli.js";
import { stepOne, yamlConfig } from "../support/configs.js";
import { WORKFLOW_CLI } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

const run = promisify(execFile);

let stack: Stack;
let env: Record<string, string>;
const dir = useTempDir("schedule-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  env = cliEnv(stack);
});
afterAll(async () => {
  await stack.close();
});

const workflow = async (...args: string[]) =>
  (await run(process.execPath, [WORKFLOW_CLI, "schedule", ...args], { env })).stdout;

describe("workflow schedule", () => {
  it("adds a schedule of works (a dry run first), lists it, shows it, pauses, resumes and removes it", {
    timeout: 60_000,
  }, async () => {
    const file = join(dir, "nightly.yaml");
    writeFileSync(
      file,
      "works:\n  - {pipeline: nightly-fit, site: local, user: alice, command: [python, fit.py]}\n",
    );
    const dry = await workflow(
      "add",
      file,
      "--cron",
      "0 2 * * *",
      "--tz",
      "Europe/Berlin",
      "--dry-run",
    );
    expect(dry).toContain("dry run: nothing stored");
    // Five fire times, each at 02:00 in Berlin: 01:00 or 00:00 UTC.
    expect(dry.match(/^ {2}\d{4}-\d\d-\d\dT0[01]:00:00\.000Z$/gm)).toHaveLength(5);
    expect(JSON.parse(await workflow("ls", "--json"))).toEqual([]);

    const id = (
      await workflow("add", file, "--cron", "0 2 * * *", "--tz", "Europe/Berlin", "--quiet")
    ).trim();
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    const ls = await workflow("ls");
    expect(ls).toMatch(
      new RegExp(`${id}\\s+nightly\\s+alice\\s+0 2 \\* \\* \\*\\s+Europe/Berlin\\s+enabled\\s+0`),
    );
    const ps = await workflow("ps", id);
    expect(ps).toContain("next fire times:");
    expect(ps).toContain("last ticks:");

    await workflow("pause", id);
    expect(JSON.parse(await workflow("ps", id, "--json"))).toMatchObject({ enabled: false });
    await workflow("resume", id);
    expect(JSON.parse(await workflow("ps", id, "--json"))).toMatchObject({ enabled: true });

    // The same name twice is refused, and says so.
    await expect(workflow("add", file, "--cron", "0 3 * * *")).rejects.toThrow(
      /already have a schedule named "nightly"/,
    );

    await workflow("rm", id);
    expect(JSON.parse(await workflow("ls", "--json"))).toEqual([]);
  });

  it("adds a pipeline config as a target, and refuses an invalid one before storing anything", {
    timeout: 60_000,
  }, async () => {
    const good = join(dir, "pipe.yaml");
    writeFileSync(good, yamlConfig("scheduled", stepOne(["echo", "${{ params.word }}"])));
    const added = JSON.parse(
      await workflow(
        "add",
        good,
        "--cron",
        "*/15 * * * *",
        "--param",
        "word=hi",
        "--lives",
        "3",
        "--json",
      ),
    );
    expect(added).toMatchObject({ name: "pipe", lives: 3, pipelines: ["scheduled"] });
    expect(added.next).toHaveLength(3);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, 'version: "2"\nname: broken\npipeline: {steps: []}\n');
    await expect(workflow("add", bad, "--cron", "0 2 * * *")).rejects.toThrow(/steps|pipeline/);
    const names = JSON.parse(await workflow("ls", "--json")).map((s: { name: string }) => s.name);
    expect(names).toEqual(["pipe"]);
  });
});
