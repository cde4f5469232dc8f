import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alive, killRecorded, pidsIn } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { runOne as runOneWork } from "../support/works.js";

/** Command works run by a real worker: exit codes, output tails, timeouts, and no injection. */

let stack: Stack;
const dir = useTempDir("commands-");

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterAll(async () => {
  // Whatever a failed test may have left running.
  const files = existsSync(dir ?? "") ? readdirSync(dir) : [];
  killRecorded(files.filter((name) => name.endsWith(".pids")).map((name) => join(dir, name)));
  await stack?.close();
});

const runOne = (work: Partial<WorkInput>, lives = 1): Promise<StoredWork> =>
  runOneWork(stack, work, { cwd: dir, prefix: "cmd", worker: { lives } });

describe("exit codes and output", () => {
  it("exit 0 is success, with exitCode 0 and the tails of stdout and stderr in results", async () => {
    const work = await runOne({ command: ["sh", "-c", "echo calibrated; echo 'a warning' >&2"] });
    expect(work).toMatchObject({ status: "success", attempt: 1 });
    expect(work.results).toMatchObject({
      exitCode: 0,
      stdout: "calibrated\n",
      stderr: "a warning\n",
    });
  });

  it("only the tail of a long output is kept", async () => {
    const work = await runOne({
      command: ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done"],
    });
    expect(work.status).toBe("success");
    const stdout = work.results?.stdout as string;
    expect(stdout.endsWith("line-19999\n")).toBe(true);
    expect(stdout).not.toContain("line-0\n");
    expect(Buffer.byteLength(stdout)).toBeLessThanOrEqual(64 * 1024 + 3);
  });

  it("exit 3 is a failure with exitCode 3", async () => {
    const work = await runOne({
      command: ["sh", "-c", "echo 'no convergence' >&2; exit 3"],
      retries: 0,
    });
    expect(work.status).toBe("failure");
    expect(work.results).toMatchObject({ exitCode: 3, stderr: "no convergence\n" });
    expect(work.results?.error).toMatch(/3/);
    expect(work.history?.[0]).toMatchObject({ attempt: 1, status: "failure" });
  });

  it("a retry that succeeds reports its own output, not the failed attempt's", {
    timeout: 20_000,
  }, async () => {
    const marker = join(dir, "second-time");
    const work = await runOne(
      {
        command: [
          "sh",
          "-c",
          `if [ -e ${marker} ]; then echo fine now; else touch ${marker}; echo broken >&2; exit 3; fi`,
        ],
        retries: 1,
      },
      2,
    );
    expect(work).toMatchObject({ status: "success", attempt: 2 });
    expect(work.results).toEqual({ exitCode: 0, stdout: "fine now\n", stderr: "" });
    expect(work.history?.map((h) => h.status)).toEqual(["failure", "success"]);
  });

  it("a command that cannot start is a failure that says so", async () => {
    const work = await runOne({ command: ["/no/such/program", "x"], retries: 0 });
    expect(work.status).toBe("failure");
    expect(work.results?.error).toMatch(/\/no\/such\/program/);
  });
});

describe("timeouts", () => {
  it("a command timing out while it has children leaves none of its processes alive", {
    timeout: 30_000,
  }, async () => {
    const file = join(dir, "children.pids");
    const started = Date.now();
    const work = await runOne({
      command: [
        "sh",
        "-c",
        `echo $$ > ${file}; sleep 100 & echo $! >> ${file}; sleep 100 & echo $! >> ${file}; wait`,
      ],
      timeout: 2,
      retries: 0,
    });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(work.status).toBe("failure");
    expect(work.results?.error).toMatch(/timed out/);
    const pids = pidsIn(file);
    expect(pids).toHaveLength(3);
    expect(pids.filter(alive)).toEqual([]);
  });

  it("children that ignore SIGTERM are killed with SIGKILL after the grace period", {
    timeout: 30_000,
  }, async () => {
    const file = join(dir, "stubborn.pids");
    const started = Date.now();
    const work = await runOne({
      command: [`trap '' TERM; echo $$ > ${file}; sleep 100 & echo $! >> ${file}; wait`],
      timeout: 1,
      retries: 0,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(seconds).toBeGreaterThanOrEqual(5);
    expect(seconds).toBeLessThan(20);
    expect(work.status).toBe("failure");
    expect(work.results?.error).toMatch(/timed out/);
    const pids = pidsIn(file);
    expect(pids).toHaveLength(2);
    expect(pids.filter(alive)).toEqual([]);
  });
});

describe("parameters are data, never code", () => {
  const values = {
    semi: "; rm -rf /",
    subst: "$(id)",
    tick: "`touch pwned-tick`",
    quote: "x'; touch pwned-quote; echo '",
    spaced: "two  words",
  };
  const expected = `${Object.values(values).join("\n")}\n`;

  it.each([
    ["argv", ["printf", "%s\\n", "{{semi}}", "{{subst}}", "{{tick}}", "{{quote}}", "{{spaced}}"]],
    ["shell", ["printf '%s\\n' {{semi}} {{subst}} {{tick}} {{quote}} {{spaced}}"]],
  ])("the %s form gets each value as one literal argument", async (_form, command) => {
    const work = await runOne({ command, parameters: values });
    expect(work.status).toBe("success");
    expect(work.results?.stdout).toBe(expected);
    expect(existsSync(join(dir, "pwned-tick"))).toBe(false);
    expect(existsSync(join(dir, "pwned-quote"))).toBe(false);
  });

  it("a placeholder inside an argv item is refused by the client, naming the item (a program may read it as code)", async () => {
    const deposit = stack.client().deposit([
      {
        pipeline: "cmd-refused",
        site: "local",
        user: "admin",
        command: ["echo", "--name={{name}}"],
        parameters: { name: "$(id) && true" },
      },
    ]);
    await expect(deposit).rejects.toMatchObject({
      code: "invalid",
      message: expect.stringContaining("works[0].command[1]"),
    });
  });

  it("a placeholder without a parameter fails the work and names it", async () => {
    const work = await runOne({ command: ["echo", "{{missing}}"], parameters: {}, retries: 0 });
    expect(work.status).toBe("failure");
    expect(work.results?.error).toContain("missing");
  });
});
