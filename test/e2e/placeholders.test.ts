import { readdirSync } from "node:fs";
import { InvalidWorkError, type StoredWork } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { freshPipeline, runAll as runAllWorks, runDeposited } from "../support/works.js";

/**
 * Placeholders in every command form, filled with values an attacker would write: each command
 * prints what it got, and the files those values try to create never appear.
 */

let stack: Stack;
const dir = useTempDir("placeholders-");

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterAll(async () => {
  await stack?.close();
});

/** Each tries to create a file named after its kind, in the works' directory. */
const HOSTILE: Record<string, string> = {
  subst: "$(touch F-subst)",
  tick: "`touch F-tick`",
  semi: "x; touch F-semi",
  single: "x'; touch F-single; echo '",
  double: 'x"; touch F-double; echo "',
  newline: "x\ntouch F-newline",
  and: "x && touch F-and",
};

/** The forms, each printing the value (with a prefix where the form adds one) and then "|". */
const FORMS: [string, string[], (value: string) => string][] = [
  ["argv, whole item", ["printf", "%s|", "{{v}}"], (v) => v],
  ["argv, after an option of its own", ["printf", "--", "%s|", "{{v}}"], (v) => v],
  ["one string", ["printf '%s|' {{v}}"], (v) => v],
  ["one string, in double quotes", ['printf "%s|" "{{v}}"'], (v) => v],
  ["one string, next to shell operators", ["printf '%s|' {{v}}&&true"], (v) => v],
  ["bash -c", ["bash", "-c", "printf '%s|' {{v}}"], (v) => v],
  ["sh -c, in double quotes", ["sh", "-c", 'printf "%s|" "{{v}}"'], (v) => v],
  [
    "bash -lc with $0 and $1 of its own",
    ["bash", "-lc", `printf '%s|' "$1" {{v}}`, "zero", "first"],
    (v) => `first|${v}`,
  ],
  ["env ... sh -euc", ["env", "X=1", "sh", "-euc", "printf '%s|' {{v}}"], (v) => v],
];

/** Deposits the works, runs one worker until all are done, and answers them in order. */
const runAll = (
  works: { command: string[]; parameters?: Record<string, unknown> }[],
): Promise<StoredWork[]> =>
  runAllWorks(stack, works, {
    cwd: dir,
    prefix: "ph",
    defaults: { retries: 0 },
    worker: { concurrency: 4 },
  });

describe("a parameter is data in every command form", () => {
  it("no value runs as code, and each arrives whole", { timeout: 60_000 }, async () => {
    const cases = FORMS.flatMap(([form, command, expected]) =>
      Object.entries(HOSTILE).map(([kind, value]) => ({ form, kind, command, value, expected })),
    );
    const works = await runAll(
      cases.map((c) => ({ command: c.command, parameters: { v: c.value } })),
    );
    cases.forEach((c, i) => {
      const work = works[i] as StoredWork;
      expect({ form: c.form, kind: c.kind, status: work.status }).toEqual({
        form: c.form,
        kind: c.kind,
        status: "success",
      });
      expect(work.results?.stdout, `${c.form} / ${c.kind}`).toBe(`${c.expected(c.value)}|`);
    });
    expect(readdirSync(dir).filter((name) => name.startsWith("F-"))).toEqual([]);
  });
});

/**
 * Commands that splice a value into a larger string, which some program reads and may run as
 * code. Each value creates a file F-... if it runs as code in the language it lands in.
 */
const PY = "open('F-python','w')";
const SPLICED: { command: string[]; item: number; v: string }[] = [
  { command: ["python3", "-uc", "print({{v}})"], item: 2, v: PY },
  { command: ["python3", "-Ic", "print({{v}})"], item: 2, v: PY },
  {
    command: ["node", "-pe", "String({{v}})"],
    item: 2,
    v: "require('fs').writeFileSync('F-node','')",
  },
  { command: ["perl", "-le", "print {{v}}"], item: 2, v: "system('touch F-perl')" },
  { command: ["csh", "-c", "echo {{v}}"], item: 2, v: "`touch F-csh`" },
  { command: ["fish", "-c", "echo {{v}}"], item: 2, v: "(touch F-fish)" },
  { command: ['python3 -c "print({{v}})"'], item: 0, v: PY },
  { command: ["bash", "-c", 'python3 -c "print({{v}})"'], item: 2, v: PY },
  { command: ["bash", "-c", "echo --v={{v}}"], item: 2, v: "$(touch F-bash)" },
  { command: ["echo", "--v={{v}}"], item: 1, v: "x" },
  { command: ["env", "X={{v}}", "sh", "-c", 'echo "$X"'], item: 1, v: "x" },
  { command: ["echo '{{v}}'"], item: 0, v: "x" },
  { command: ["bash", "-c", "echo '--v={{v}}'"], item: 2, v: "x" },
];

describe("a placeholder inside a larger string is refused, whatever the program", () => {
  it("by this project's client, before anything is sent: an error that names the command item", {
    timeout: 30_000,
  }, async () => {
    const client = stack.client();
    for (const { command, item, v } of SPLICED) {
      const error = await client
        .deposit([
          {
            pipeline: "ph-refused",
            site: "local",
            user: "admin",
            command,
            parameters: { v },
          },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error, JSON.stringify(command)).toBeInstanceOf(InvalidWorkError);
      expect((error as InvalidWorkError).message, JSON.stringify(command)).toContain(
        `works[0].command[${item}]`,
      );
    }
    expect(await client.view({ pipeline: "ph-refused" })).toEqual([]);
    // So is an update that would change a command to one of them.
    const [id] = await client.deposit(
      [{ pipeline: "ph-refused", site: "local", user: "admin", command: ["true"] }],
      { returnIds: true },
    );
    await expect(
      client.update([{ id: id as string, command: ["python3", "-c", "print({{v}})"] }]),
    ).rejects.toBeInstanceOf(InvalidWorkError);
  });

  it("sent as CHIME's client sends it (the service takes {{...}} as text), the worker fails it and no value runs", {
    timeout: 60_000,
  }, async () => {
    const pipeline = freshPipeline("ph");
    const token = stack.token("admin", ["admin"]);
    for (const { command, item, v } of SPLICED) {
      const sent = await fetch(`${stack.url}/work?return_ids=True`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-access-token": token },
        body: JSON.stringify([
          { pipeline, site: "local", user: "admin", retries: 0, command, parameters: { v } },
        ]),
      });
      expect(sent.status, JSON.stringify(command)).toBe(200);
      const [id] = (await sent.json()) as string[];
      const [work] = await runDeposited(stack, pipeline, [id as string], { cwd: dir });
      expect(work?.status, JSON.stringify(command)).toBe("failure");
      expect(work?.results?.error, JSON.stringify(command)).toContain(`command[${item}]`);
    }
    expect(readdirSync(dir).filter((name) => name.startsWith("F-"))).toEqual([]);
  });

  it("and by the worker, for a command it supplies itself (--command): the work fails and no value runs", {
    timeout: 60_000,
  }, async () => {
    const client = stack.client();
    const pipeline = freshPipeline("ph");
    for (const { command, item, v } of SPLICED) {
      const [id] = await client.deposit(
        [{ pipeline, site: "local", user: "admin", retries: 0, parameters: { v } }],
        { returnIds: true, static: true },
      );
      const [work] = await runDeposited(stack, pipeline, [id as string], {
        cwd: dir,
        worker: { command },
      });
      expect(work?.status, JSON.stringify(command)).toBe("failure");
      expect(work?.results?.error, JSON.stringify(command)).toContain(`command[${item}]`);
    }
    expect(readdirSync(dir).filter((name) => name.startsWith("F-"))).toEqual([]);
  });
});

describe("only the parameters' own keys fill placeholders", () => {
  it("{{toString}} and {{constructor}} are missing parameters, not Object.prototype's", {
    timeout: 30_000,
  }, async () => {
    const works = await runAll([
      { command: ["echo", "{{toString}}"], parameters: {} },
      { command: ["echo {{constructor}}"], parameters: { other: 1 } },
      { command: ["echo", "{{toString}}"], parameters: { toString: "own" } },
    ]);
    expect(works[0]).toMatchObject({ status: "failure" });
    expect(works[0]?.results?.error).toMatch(/parameters has no "toString"/);
    expect(works[1]).toMatchObject({ status: "failure" });
    expect(works[1]?.results?.error).toMatch(/parameters has no "constructor"/);
    expect(works[2]).toMatchObject({ status: "success", results: { stdout: "own\n" } });
  });
});
