import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BucketsClient } from "@workflow/work";
import type { WorkerHandle } from "@workflow/worker";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runWorkflow } from "../support/cli.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { serving } from "../support/works.js";

/** Issue #29 from the `workflow` command: preview, reuse shown, expiry, deposit --cache. */
const CONFIG = `
version: "2"
name: cached-cli
defaults: {user: developer, site: local}
cache: {ttl: 30d}
pipeline:
  steps:
    - name: fit
      work: {function: ./jobs.mjs#fit, parameters: {alpha: 3}}
`;

let stack: Stack;
const dir = useTempDir("cache-cli-");
let client: BucketsClient;
let worker: WorkerHandle;
let env: Record<string, string>;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(join(dir, "jobs.mjs"), "export const fit = ({ alpha }) => ({ fit: alpha * 2 });");
  writeFileSync(join(dir, "pipeline.yaml"), CONFIG);
  client = stack.client({
    user: "developer",
    scopes: ["work:deposit", "work:read", "work:withdraw"],
  });
  env = cliEnv(stack, "developer");
  worker = serving(client, ["cached-cli"], dir);
});
afterAll(async () => {
  await worker.stop();
  await stack.close();
});

const workflow = async (...args: string[]) => {
  const ran = await runWorkflow(args, { env });
  if (ran.code !== 0) throw new Error(`workflow ${args.join(" ")}: ${ran.stderr}`);
  return ran.stdout;
};

async function runToEnd(file = "pipeline.yaml"): Promise<{ run: string; work: string }> {
  const run = (await workflow("pipeline", "run", join(dir, file), "--quiet")).trim();
  await eventually(async () => ((await client.run(run)).status === "running" ? undefined : true));
  const [work] = await client.view({ "config.parent": run });
  return { run, work: work?.id as string };
}

describe("workflow and the cache", () => {
  it("--dry-run says what would run and what would be reused; ps, pipeline ps and show say a work was reused and from which; expire makes it run again", {
    timeout: 90_000,
  }, async () => {
    const file = join(dir, "pipeline.yaml");
    expect(await workflow("pipeline", "run", file, "--dry-run")).toMatch(
      /\[0\] \.\/jobs\.mjs#fit \{"alpha":3\} .* will run$/m,
    );
    const first = await runToEnd();
    expect(await workflow("pipeline", "run", file, "--dry-run")).toContain(
      `cached (from ${first.work})`,
    );
    // The preview wrote nothing.
    expect(await client.count({ pipeline: "cached-cli" })).toBe(1);

    const second = await runToEnd();
    expect(await workflow("pipeline", "ps", second.run)).toMatch(
      /fit {2}success {2}success 1 \(cached 1\)/,
    );
    expect(await workflow("ps", "cached-cli")).toContain(`success (cached from ${first.work})`);
    const shown = await workflow("show", second.work);
    expect(shown).toContain(`reused: taken from the cache, as the success of work ${first.work}`);
    expect(shown).toMatch(/key: k1:[0-9a-f]{64}/);

    expect(await workflow("expire", "--step", "fit", second.run)).toMatch(/^expired 2 successes/);
    expect(await workflow("pipeline", "run", file, "--dry-run")).toMatch(/will run$/m);
    const third = await runToEnd();
    expect((await client.view({ id: third.work }))[0]).toMatchObject({ attempt: 1 });
  });

  it("deposit --cache answers a work from an earlier success with its key; without --cache it runs", {
    timeout: 60_000,
  }, async () => {
    const args = [
      "deposit",
      "--pipeline",
      "cached-cli",
      "--site",
      "local",
      "--function",
      "./jobs.mjs#fit",
      "--param",
      "alpha=21",
      "--quiet",
    ];
    const first = (await workflow(...args, "--cache")).trim();
    await eventually(async () => {
      const [w] = await client.view({ id: first });
      return w?.status === "success" ? w : undefined;
    });
    const again = (await workflow(...args, "--cache", "1d")).trim();
    expect((await client.view({ id: again }))[0]).toMatchObject({
      status: "success",
      attempt: 0,
      results: { fit: 42 },
      cached: { from: first },
    });
    const uncached = (await workflow(...args)).trim();
    expect((await client.view({ id: uncached }))[0]?.cached).toBeUndefined();
    const bad = await runWorkflow(["expire", "--pipeline", "cached-cli", "--older-than", "soon"], {
      env,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('a duration looks like "30d"');
  });

  it("expire --key expires the works made from that key too, as --step does", {
    timeout: 90_000,
  }, async () => {
    const chain = `${CONFIG.replace("alpha: 3", "alpha: 4")}    - name: refit\n      needs: fit\n      work: {function: ./jobs.mjs#fit, parameters: {alpha: 5}}\n`;
    writeFileSync(join(dir, "chain.yaml"), chain);
    const { run } = await runToEnd("chain.yaml");
    const [fit] = await client.view({ "config.parent": run, step: "fit" });
    expect(await workflow("expire", "--key", fit?.key as string)).toMatch(
      /^expired 2 successes \(2 keys\)/,
    );
    const preview = await workflow("pipeline", "run", join(dir, "chain.yaml"), "--dry-run");
    expect(preview.match(/will run$/gm)).toHaveLength(2);
  });
});
