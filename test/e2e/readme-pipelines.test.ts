import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseConfigText } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Owned, own, ROOT, WORKFLOW_CLI, workerProcess } from "../support/processes.js";
import { endGroups, readmeBlocks, runShell } from "../support/readme.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * Every example of the README's Pipelines section runs as printed, against the real service and
 * real worker processes serving examples/: each pipeline config shown (a YAML block with `version`
 * and `pipeline`) is dry-run, then run to success; a block that names its file
 * (`# examples/...`) is that file; each shell block runs in bash from the repository's root.
 * New examples are picked up as they are added.
 */

const FUNCTION_ROOT = join(ROOT, "examples", "python");

const blocks = readmeBlocks("README.md").filter((b) => b.section === "Pipelines");
const configOf = (text: string): Record<string, unknown> | undefined => {
  try {
    const parsed = parseConfigText(text);
    return parsed && typeof parsed === "object" && "version" in parsed && "pipeline" in parsed
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};
const configs = blocks.filter((b) => b.language === "yaml" && configOf(b.text));
const scripts = blocks.filter((b) => b.language === "sh");

let stack: Stack;
const home = useTempDir("readme-pipelines-");
let env: Record<string, string>;
const owned: Owned[] = [];
/** Process groups the shell blocks started (a block may leave a worker running). */
const groups: number[] = [];

beforeAll(async () => {
  // The service's sites, and the CLI's workspace: the same sites, and the service's URL.
  const sites = join(home, "sites.yml");
  writeFileSync(sites, "workspace: readme\nsites: [local]\n");
  stack = await startStack(import.meta.filename, { BUCKETS_WORKSPACE: sites });
  const workspace = join(home, "workspace.yml");
  writeFileSync(
    workspace,
    `workspace: readme\nsites: [local]\nhttp:\n  baseurls:\n    buckets: [${stack.url}]\n`,
  );
  env = {
    HOME: home,
    PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
    WORKFLOW_WORKSPACE: workspace,
    WORKFLOW_TOKEN: stack.token("alice", ["work:deposit", "work:read"]),
  };
});
afterAll(async () => {
  endGroups(groups);
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
  await stack?.close();
});

const workflow = (args: string[]) => {
  const child = own(process.execPath, [WORKFLOW_CLI, ...args], env);
  owned.push(child);
  return child;
};
/** A worker process for the pipelines of a config, loading examples/. */
const serve = (pipelines: string[]) => {
  const worker = workerProcess([...pipelines, "--sleep", "0.2", "--concurrency", "4"], {
    PYTHONPATH: FUNCTION_ROOT,
    WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
    WORKFLOW_WORKSPACE: env.WORKFLOW_WORKSPACE as string,
  });
  owned.push(worker);
  return worker;
};
const runStatus = async (id: string) => (await stack.client().run(id)).status;

describe("the README's pipeline examples, as printed", () => {
  it("has examples to run", () => {
    expect(configs.length).toBeGreaterThan(0);
    expect(scripts.length).toBeGreaterThan(0);
  });

  it.each(configs.map((b, i) => [i, b] as const))(
    "config %i: the block is its file, a dry run passes, and the run succeeds",
    { timeout: 120_000 },
    async (i, block) => {
      const named = /^# (examples\/\S+)\n/.exec(block.text);
      if (named) {
        const file = readFileSync(join(ROOT, named[1] as string), "utf8");
        expect(block.text.slice(named[0].length), `${named[1]} as the README shows it`).toBe(file);
      }
      const path = join(home, `config-${i}.yaml`);
      writeFileSync(path, block.text);
      const dry = workflow(["pipeline", "run", path, "--dry-run"]);
      expect(await dry.exited, dry.output()).toBe(0);
      const plan = workflow(["--json", "pipeline", "run", path, "--dry-run"]);
      expect(await plan.exited, plan.output()).toBe(0);
      const { steps } = JSON.parse(plan.output()) as {
        steps: { works: { work: { pipeline: string } }[] }[];
      };
      const worker = serve([...new Set(steps.flatMap((s) => s.works.map((w) => w.work.pipeline)))]);
      const started = workflow(["--json", "pipeline", "run", path]);
      expect(await started.exited, started.output()).toBe(0);
      const { id } = JSON.parse(started.output()) as { id: string };
      const status = await eventually(async () => {
        const now = await runStatus(id);
        return now === "running" ? undefined : now;
      }, 90_000);
      const errors = (await stack.client().view({ "config.parent": id }))
        .map((w) => w.results?.error)
        .filter(Boolean);
      expect(status, JSON.stringify(errors)).toBe("success");
      // The shell blocks bring their own workers.
      await worker.stop("SIGTERM");
    },
  );

  it.each(scripts.map((b, i) => [i, b] as const))(
    "shell block %i runs in bash from the repository and exits 0",
    { timeout: 120_000 },
    async (_i, block) => {
      const { code, output } = await runShell(block.text, { env, groups });
      expect(code, output).toBe(0);
    },
  );
});

describe("workflow pipeline run --dry-run checks what the run checks", () => {
  const config = (defaults: string) =>
    `version: "2"\nname: dry\ndefaults: ${defaults}\npipeline:\n  steps:\n    - name: one\n      work: { command: ["true"] }\n`;

  it("another user, or a site the service does not have, fails the dry run as it fails the run", async () => {
    for (const [defaults, expected] of [
      ["{ user: developer, site: local }", 'belongs to user "developer", not "alice"'],
      ["{ site: elsewhere }", '"elsewhere" is not a site of this service'],
    ] as const) {
      const path = join(home, "dry.yaml");
      writeFileSync(path, config(defaults));
      const dry = workflow(["pipeline", "run", path, "--dry-run"]);
      const real = workflow(["pipeline", "run", path]);
      expect(await dry.exited, dry.output()).not.toBe(0);
      expect(await real.exited, real.output()).not.toBe(0);
      expect(dry.output()).toContain(expected);
      expect(real.output()).toContain(expected);
    }
    expect(await stack.client().runs({ name: "dry" })).toEqual([]);
  });

  it("a dry run that passes names the token's user and stores nothing", async () => {
    const path = join(home, "dry-ok.yaml");
    writeFileSync(path, config("{ site: local }").replace("name: dry", "name: dry-ok"));
    const dry = workflow(["pipeline", "run", path, "--dry-run"]);
    expect(await dry.exited, dry.output()).toBe(0);
    expect(dry.output()).toContain("(dry-ok, local, alice)");
    expect(await stack.client().runs({ name: "dry-ok" })).toEqual([]);
  });
});
