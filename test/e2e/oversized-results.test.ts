import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { RESULTS_MAX_BYTES } from "@workflow/work";
import { startWorker } from "@workflow/worker";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

let stack: Stack;
const dir = useTempDir("oversized-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `export function huge() {
  return { results: { spectrum: "x".repeat(${RESULTS_MAX_BYTES} + 1000), snr: 9 }, products: ["/data/huge.h5"], plots: ["/plots/huge.png"] };
}`,
  );
});
afterAll(async () => {
  await stack?.close();
});

describe("a function whose results are over the cap", () => {
  it("the worker warns with the size and the cap; the work keeps its status, products and plots", {
    timeout: 60_000,
  }, async () => {
    const client = stack.client();
    const [id] = await client.deposit(
      [{ pipeline: "oversized", site: "local", user: "admin", function: "./jobs.mjs#huge" }],
      { returnIds: true },
    );
    const logged: Record<string, unknown>[] = [];
    const logger = pino(
      { level: "warn" },
      { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const worker = startWorker({
      pipelines: ["oversized"],
      client,
      cwd: dir,
      lives: 1,
      wait: 2,
      sleep: 0.1,
      logger,
    });
    try {
      await worker.done;
    } finally {
      await worker.stop();
    }
    const work = await eventually(async () => {
      const [stored] = await client.view({ id });
      return stored?.status === "success" ? stored : undefined;
    }, 10_000);
    expect(work).toMatchObject({
      status: "success",
      products: ["/data/huge.h5"],
      plots: ["/plots/huge.png"],
      results: {
        error: expect.stringMatching(/^results dropped: results are \d+ bytes, over the/),
      },
    });
    const warning = logged.find((entry) => String(entry.msg).startsWith("results dropped"));
    expect(warning).toMatchObject({
      level: 40,
      capBytes: RESULTS_MAX_BYTES,
      bytes: expect.any(Number),
    });
    expect(warning?.bytes as number).toBeGreaterThan(RESULTS_MAX_BYTES);
    expect(String(warning?.msg)).toContain(`over the ${RESULTS_MAX_BYTES}-byte cap`);
  });
});
