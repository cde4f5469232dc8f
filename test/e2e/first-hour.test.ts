import type { ChildProcess } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bash,
  cleanEnv,
  copyRepository,
  descendants,
  npmStart,
  readmeBlock,
} from "../support/fresh.js";
import { alive } from "../support/processes.js";
import { eventually } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

// A new user's first hour, on a fresh copy of the repository: the README's own commands, in order.
const dir = useTempDir("first-hour-");
let clone: string;
let home: string;
let readme: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  clone = join(dir, "buckets");
  home = join(dir, "home");
  mkdirSync(home);
  copyRepository(clone);
  readme = readFileSync(join(clone, "README.md"), "utf8");
});
afterAll(() => {
  for (const child of started) if (child.exitCode === null) child.kill("SIGKILL");
});

/** An operator's shell in the clone (the real HOME: npm's cache, mongod's Wine prefix). */
const operator = (script: string, ms?: number) =>
  bash(script, {
    cwd: clone,
    env: cleanEnv({ PORT: "0", HOST: "127.0.0.1" }),
    ...(ms ? { ms } : {}),
  });

/** A scientist's shell in the clone, with their own HOME. */
const scientist = (script: string, onSpawn?: (child: ChildProcess) => void) =>
  bash(script, {
    cwd: clone,
    env: cleanEnv({
      HOME: home,
      PATH: `${clone}/node_modules/.bin:${process.env.PATH}`,
    }),
    ...(onSpawn ? { onSpawn } : {}),
  });

/** Signals `npm start` by its pid; resolves once npm and everything it started are gone. */
async function stopByPid(child: ChildProcess, signal: NodeJS.Signals): Promise<number | null> {
  const below = descendants(child.pid as number);
  expect(below.length).toBeGreaterThan(1); // node, and at least mongod
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  process.kill(child.pid as number, signal);
  const code = await exited;
  await eventually(async () => (below.some(alive) ? undefined : true), 30_000);
  return code;
}

let service: { child: ChildProcess; url: string; token: string };

describe("the first hour of a new user, on a fresh copy of the repository", () => {
  it("npm ci links npx workflow and npx buckets; they run once built", {
    timeout: 600_000,
  }, async () => {
    const quickStart = readmeBlock(readme, "## Quick start", "console");
    for (const command of ["npm ci", "npm run build", "npm start"]) {
      expect(quickStart).toContain(command);
    }
    const installed = await operator("npm ci --no-audit --no-fund", 300_000);
    expect(installed.code, installed.stderr).toBe(0);
    // Linked at install time: before the build, our bin answers (not a package from the registry).
    const early = await operator("npx workflow --help");
    expect(early.code).toBe(1);
    expect(early.stderr).toContain("workflow: not built yet; run `npm run build`");

    const built = await operator("npm run build", 300_000);
    expect(built.code, built.stdout + built.stderr).toBe(0);
    const workflow = await operator("npx workflow --help");
    expect(workflow.code, workflow.stderr).toBe(0);
    expect(workflow.stdout).toContain("Usage: workflow");
    const buckets = await operator("npx buckets --help");
    expect(buckets.code, buckets.stderr).toBe(0);
    expect(buckets.stdout).toContain("Usage: buckets");
  });

  it("npm start prints the service's URL and an admin token", { timeout: 240_000 }, async () => {
    service = await npmStart(clone, cleanEnv({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn" }));
    started.push(service.child);
    expect((await fetch(`${service.url}/livez`)).status).toBe(200);
  });

  it("the README's deposit script (with --), a worker, then ls, ps and show", {
    timeout: 240_000,
  }, async () => {
    // The operator mints the scientist's token as the README says, and a worker's.
    const alice = await operator(
      "npx buckets token --user alice --scope work:deposit --scope work:read",
    );
    expect(alice.code, alice.stderr).toBe(0);
    const worker = await operator(
      "npx buckets token --user worker --scope work:withdraw --scope work:read",
    );
    expect(worker.code, worker.stderr).toBe(0);
    const example = readFileSync(join(clone, "workspace.example.yml"), "utf8");
    writeFileSync(join(home, "chime.yml"), example.replace("http://localhost:8004", service.url));
    // The script deposits examples/fit.py three times and examples/works.jsonl (two works).
    const script = readmeBlock(readme, "## For scientists").replace(
      /^export WORKFLOW_TOKEN=.*$/m,
      `export WORKFLOW_TOKEN=${alice.stdout.trim()}`,
    );
    const deposited = await scientist(`set -e\n${script}`);
    expect(deposited.code, deposited.stderr).toBe(0);
    const ids = deposited.stdout.match(/^[0-9a-f]{24}$/gm) ?? [];
    expect(ids).toHaveLength(5);
    expect(deposited.stdout).toMatch(/^fit-spectra\s+5\s+0\s+0\s+5\s/m); // ls: total, created, waiting, queued

    // The README's worker, until the five works are done; SIGTERM stops it.
    // The block starts it in the background with the worker's token; here it runs in front.
    const run = readmeBlock(readme, "## Running workers")
      .match(/workflow run [^&\n]+/)?.[0]
      .trim();
    expect(run).toBe("workflow run fit-spectra --site chime --concurrency 4 --lives -1");
    const env = `export WORKFLOW_TOKEN=${worker.stdout.trim()} WORKFLOW_WORKSPACE=~/chime.yml`;
    let workerProcess: ChildProcess | undefined;
    const working = scientist(`${env}\nexec ${run}`, (child) => {
      workerProcess = child;
      started.push(child);
    });
    const table = await eventually(
      async () => {
        const ps = await scientist(
          `export WORKFLOW_WORKSPACE=~/chime.yml WORKFLOW_TOKEN=${alice.stdout.trim()}\nworkflow ps fit-spectra`,
        );
        return (ps.stdout.match(/ success /g) ?? []).length === 5 ? ps.stdout : undefined;
      },
      120_000,
      500,
    );
    workerProcess?.kill("SIGTERM"); // bash exec'd the worker: this is its pid
    expect((await working).code).toBe(0);

    // ps: a row a work, with its duration and what the command printed.
    expect(table).toMatch(
      /^ID\s+STATUS\s+ATTEMPT\s+PRIORITY\s+SITE\s+USER\s+CREATED\s+DURATION\s+RESULT$/m,
    );
    expect(table).toMatch(/ success\s+1\s+4\s+chime\s+alice\s+\S+ \S+\s+\d+\.\ds\s+\S/);

    const as = `export WORKFLOW_WORKSPACE=~/chime.yml WORKFLOW_TOKEN=${alice.stdout.trim()}\n`;
    const listed = await scientist(`${as}workflow ls`);
    expect(listed.stdout).toMatch(
      /^PIPELINE\s+TOTAL\s+CREATED\s+WAITING\s+QUEUED\s+RUNNING\s+SUCCESS\s+FAILURE\s+SKIPPED\s+CANCELLED$/m,
    );
    expect(listed.stdout).toMatch(/^fit-spectra\s+5\s+0\s+0\s+0\s+0\s+5\s+0\s+0\s+0$/m);

    // show: the argv went through `--` whole, dashes included.
    const shown = await scientist(`${as}workflow show ${ids[0]} --json`);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      id: ids[0],
      status: "success",
      command: ["python", "examples/fit.py", "--event", "101"],
      priority: 4,
      parameters: { snr: 12.5 },
    });
    expect((await scientist(`${as}workflow show ${ids[0]}`)).stdout).toMatch(/^status: success$/m);
  });

  it("kill on the pid of npm start stops the service and its mongod", {
    timeout: 120_000,
  }, async () => {
    expect(await stopByPid(service.child, "SIGTERM")).toBe(0);
    await expect(fetch(`${service.url}/livez`)).rejects.toThrow();
  });

  it("a second npm start prints a new admin token, takes --workspace, and stops on SIGINT", {
    timeout: 240_000,
  }, async () => {
    // The same secret, a new database directory: under Wine, mongod's lock on the last one can
    // outlive its process for a moment (a real mongod releases it as it exits).
    const data = join(dir, "data-again");
    mkdirSync(data);
    copyFileSync(join(clone, ".buckets-data", "jwt-secret"), join(data, "jwt-secret"));
    const again = await npmStart(
      clone,
      cleanEnv({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "warn", BUCKETS_DATA_DIR: data }),
      ["--workspace", join(home, "chime.yml")],
    );
    started.push(again.child);
    expect(again.token).not.toBe(service.token);
    // The first start's token still works: the secret is kept, and a token printed at each start.
    const first = await fetch(`${again.url}/status`, {
      headers: { authorization: `Bearer ${service.token}` },
    });
    expect(first.status).toBe(200);
    const deposit = (site: string) =>
      fetch(`${again.url}/work`, {
        method: "POST",
        headers: { authorization: `Bearer ${again.token}`, "content-type": "application/json" },
        body: JSON.stringify([{ pipeline: "p", site, user: "admin", command: ["true"] }]),
      });
    expect((await deposit("chime")).status).toBe(200);
    const refused = await deposit("gbo");
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain("allowed sites: local, chime, kko");
    expect(await stopByPid(again.child, "SIGINT")).toBe(0);
  });

  it("@workflow/work installs from npm pack into a project outside the repository", {
    timeout: 240_000,
  }, async () => {
    const steps = readmeBlock(readme, "## For scientists", "console");
    expect(steps).toContain("npm pack -w packages/work");
    const packed = await operator("npm pack -w packages/work --pack-destination .");
    expect(packed.code, packed.stderr).toBe(0);
    const project = join(dir, "my-analysis");
    mkdirSync(project);
    writeFileSync(join(project, "package.json"), '{ "name": "my-analysis", "type": "module" }\n');
    const installed = await bash(
      `npm install --no-audit --no-fund ${clone}/workflow-work-0.1.0.tgz && node -e 'import("@workflow/work").then((m) => console.log(typeof m.BucketsClient, typeof m.createWork))'`,
      { cwd: project, env: cleanEnv(), ms: 180_000 },
    );
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stdout).toContain("function function");
  });
});
