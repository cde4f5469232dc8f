import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../support/processes.js";
import { type Block, endGroups, readmeBlocks, runShell } from "../support/readme.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * Every example of the READMEs outside the Pipelines section (readme-pipelines.test.ts runs that)
 * runs as printed, in order, as one terminal session (variables a block sets stay for the next),
 * against the real service and a real worker the README itself starts: `sh` blocks in bash from
 * the repository's root, `ts` blocks as ES modules from there, a `yaml` block that names its file
 * is that file. What an operator hands out is in the home directory: `~/.workflow-token`,
 * `~/.workflow-worker-token` and `~/chime.yml`. `console` and `text` blocks are shown only; any other fence fails.
 */

const FILES = [
  "README.md",
  "packages/buckets/README.md",
  "packages/work/README.md",
  "packages/worker/README.md",
];
const SHOWN = new Set(["console", "text"]);
const RUN = new Set(["sh", "ts", "yaml"]);

const all = FILES.flatMap(readmeBlocks).filter(
  (b) => !(b.file === "README.md" && b.section === "Pipelines"),
);
const runnable = all.filter((b) => RUN.has(b.language));
const where = (b: Block) => `${b.file}:${b.line} (${b.section || "top"}, ${b.language})`;

let stack: Stack;
const home = useTempDir("readme-examples-");
let session: string;
let env: Record<string, string>;
const groups: number[] = [];

beforeAll(async () => {
  const sites = join(home, "sites.yml");
  writeFileSync(sites, "workspace: chime\nsites: [chime, local]\n");
  stack = await startStack(import.meta.filename, { BUCKETS_WORKSPACE: sites });
  writeFileSync(
    join(home, "chime.yml"),
    `workspace: chime\nsites: [chime, local]\nhttp:\n  baseurls:\n    buckets: [${stack.url}]\n`,
  );
  writeFileSync(join(home, ".workflow-token"), stack.token("alice", ["work:deposit", "work:read"]));
  writeFileSync(join(home, ".workflow-worker-token"), stack.token("worker", ["work:withdraw"]));
  session = join(home, "session.sh");
  writeFileSync(session, "");
  env = {
    HOME: home,
    PATH: process.env.PATH ?? "",
    // The service, as `npm start` would have printed it: its URL and an admin token.
    B: stack.url,
    T: stack.token("admin", ["admin"]),
  };
});
afterAll(async () => {
  endGroups(groups);
  await stack?.close();
});

/** A `ts` block, compiled as written, run by node as a module from the repository's root. */
function moduleOf(block: Block): string {
  const js = ts.transpileModule(block.text, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const file = join(home, `block-${block.line}.mjs`);
  writeFileSync(file, js);
  return `node --input-type=module < ${JSON.stringify(file)}\n`;
}

/** The `# path` a block names on its first line, if any. */
const named = (block: Block) => /^# (examples\/\S+?):?(\s|$)/.exec(block.text)?.[1];

describe("the READMEs' examples, as printed", () => {
  it("marks every block: run (sh, ts, yaml) or shown (console, text)", () => {
    const unmarked = all.filter((b) => !RUN.has(b.language) && !SHOWN.has(b.language));
    expect(unmarked.map(where)).toEqual([]);
    expect(runnable.length).toBeGreaterThan(0);
    // The ones a reader must run elsewhere, for the report of what the test does not run.
    console.info(
      `shown, not run:\n${all
        .filter((b) => SHOWN.has(b.language))
        .map(where)
        .join("\n")}`,
    );
  });

  it.each(runnable.map((b) => [where(b), b] as const))(
    "%s runs and succeeds",
    { timeout: 120_000 },
    async (_where, block) => {
      if (block.language === "yaml") {
        const path = named(block);
        expect(
          path,
          "a yaml block names its file (# examples/...), or is fenced text",
        ).toBeTruthy();
        const file = readFileSync(join(ROOT, path as string), "utf8");
        expect(block.text.slice(block.text.indexOf("\n") + 1), `${path} as shown`).toBe(file);
        const used = runnable.some((b) => b.language === "sh" && b.text.includes(path as string));
        expect(used, `a shell block of the READMEs uses ${path}`).toBe(true);
        return;
      }
      const text = block.language === "ts" ? moduleOf(block) : block.text;
      const { code, output } = await runShell(text, { env, groups, session });
      expect(code, output).toBe(0);
      // curl answers an error with exit 0: the service's errors are failures here.
      expect(output).not.toContain('{"error":{"code":"');
    },
  );

  it("the works the examples deposited ran to success on the worker the README started", {
    timeout: 90_000,
  }, async () => {
    const admin = stack.client();
    const left = await eventually(async () => {
      const works = await admin.view({ pipeline: "fit-spectra" });
      return works.some((w) => w.status === "queued" || w.status === "running") ? undefined : works;
    }, 60_000);
    expect(left.filter((w) => w.status !== "success").map((w) => w.results)).toEqual([]);
    // Besides those still in the queue, the results store holds the ones moved there.
    const kept = await fetch(`${stack.url}/results-service/view`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.T}`, "content-type": "application/json" },
      body: JSON.stringify({ query: { pipeline: "fit-spectra" } }),
    });
    const results = (await kept.json()) as { status: string }[];
    expect(results.filter((r) => r.status !== "success")).toEqual([]);
    // Three from the loop, two from the file, three from Node, one for the logs, one of work's.
    expect(left.length + results.length).toBe(10);
  });
});
