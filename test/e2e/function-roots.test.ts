import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import type { WorkerOptions } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { runAll as runAllWorks } from "../support/works.js";

/**
 * Function specifiers: a worker loads functions only from its function roots (its directory by
 * default), and a warm function process never serves two users.
 */

let stack: Stack;
const base = useTempDir("function-roots-");
let dir: string;
let outside: string;

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  dir = join(base, "worker");
  outside = join(base, "elsewhere");
  mkdirSync(join(dir, "node_modules", "fit-kit"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `globalThis.seen ??= [];
export function who({ user }) {
  globalThis.seen.push(user);
  return { pid: process.pid, seen: globalThis.seen };
}\n`,
  );
  writeFileSync(
    join(dir, "node_modules", "fit-kit", "package.json"),
    JSON.stringify({ name: "fit-kit", version: "1.0.0", type: "module", main: "index.js" }),
  );
  writeFileSync(
    join(dir, "node_modules", "fit-kit", "index.js"),
    "export const run = () => ({ kit: true });\n",
  );
  writeFileSync(
    join(outside, "evil.mjs"),
    `import { writeFileSync } from "node:fs";
export function run({ file }) { writeFileSync(file, "ran"); return { ran: true }; }\n`,
  );
});

afterAll(async () => {
  await stack?.close();
});

/** Deposits the works, runs one worker (concurrency 1) until all are done, answers them in order. */
const runAll = (
  works: Partial<WorkInput>[],
  options: Partial<WorkerOptions> = {},
): Promise<StoredWork[]> =>
  runAllWorks(stack, works, { cwd: dir, prefix: "fr", defaults: { retries: 0 }, worker: options });

describe("function roots", () => {
  it("a module in the worker's directory or its node_modules runs", {
    timeout: 30_000,
  }, async () => {
    const works = await runAll([
      { function: "./jobs.mjs#who", parameters: { user: "a" } },
      { function: "fit-kit#run" },
    ]);
    expect(works[0]).toMatchObject({ status: "success", results: { seen: ["a"] } });
    expect(works[1]).toMatchObject({ status: "success", results: { kit: true } });
  });

  it("Node built-ins and modules outside the roots are refused, saying why", {
    timeout: 30_000,
  }, async () => {
    const file = join(base, "ran");
    const refused = [
      "node:child_process#execSync",
      "child_process#execSync",
      "node:fs#writeFileSync",
      "../elsewhere/evil.mjs#run",
      `${join(outside, "evil.mjs")}#run`,
      // The worker's own dependencies are not the works' to call.
      "zod#z",
    ];
    const works = await runAll(refused.map((f) => ({ function: f, parameters: { file } })));
    works.forEach((work, i) => {
      expect({ function: refused[i], status: work.status }).toEqual({
        function: refused[i],
        status: "failure",
      });
      expect(work.results?.error).toMatch(/function roots|cannot find module/);
    });
    expect(works[0]?.results?.error).toMatch(/built into Node/);
    expect(works[3]?.results?.error).toMatch(/outside this worker's function roots/);
    expect(existsSync(file)).toBe(false);
  });

  it("--function-root allows another directory, and then only it", {
    timeout: 30_000,
  }, async () => {
    const file = join(base, "allowed");
    const works = await runAll(
      [
        { function: "../elsewhere/evil.mjs#run", parameters: { file } },
        { function: "./jobs.mjs#who", parameters: { user: "a" } },
      ],
      { functionRoots: [outside] },
    );
    expect(works[0]).toMatchObject({ status: "success", results: { ran: true } });
    expect(existsSync(file)).toBe(true);
    expect(works[1]?.status).toBe("failure");
    expect(works[1]?.results?.error).toMatch(/outside this worker's function roots/);
  });
});

describe("warm function processes", () => {
  it("serve the works of one user only", { timeout: 30_000 }, async () => {
    const works = await runAll([
      { function: "./jobs.mjs#who", user: "alice", parameters: { user: "alice" } },
      { function: "./jobs.mjs#who", user: "bob", parameters: { user: "bob" } },
      { function: "./jobs.mjs#who", user: "alice", parameters: { user: "alice" } },
      { function: "./jobs.mjs#who", user: "bob", parameters: { user: "bob" } },
    ]);
    for (const work of works) expect(work.status).toBe("success");
    const [a1, b1, a2, b2] = works.map((w) => w.results as { pid: number; seen: string[] });
    // Each user's second work met a warm process: the same one, which saw only that user.
    expect(a2?.pid).toBe(a1?.pid);
    expect(b2?.pid).toBe(b1?.pid);
    expect(b1?.pid).not.toBe(a1?.pid);
    expect(a2?.seen).toEqual(["alice", "alice"]);
    expect(b2?.seen).toEqual(["bob", "bob"]);
  });
});
