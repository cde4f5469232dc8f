import { describe, expect, it } from "vitest";
import { runWorkflow } from "../../../test/support/cli.js";
import { WORKER_DEFAULTS, WorkerOptionsSchema } from "../src/options.js";

/** The worker's defaults are stated once: the daemon resolves them, `workflow run` shows them. */
describe("the worker's defaults", () => {
  it("are what a worker started with nothing but its pipelines resolves", () => {
    const resolved = WorkerOptionsSchema.parse({ pipelines: ["p"] });
    expect(resolved).toEqual(expect.objectContaining(WORKER_DEFAULTS));
  });

  it("are the ones `workflow run --help` shows", async () => {
    const help = await runWorkflow(["run", "--help"]);
    expect(help.code, help.stderr).toBe(0);
    const shown = (flag: string) =>
      new RegExp(`--${flag} <[^>]+>[\\s\\S]*?\\(default:\\s+([^)]+)\\)`).exec(help.stdout)?.[1];
    expect(shown("lives")).toBe(String(WORKER_DEFAULTS.lives));
    expect(shown("sleep")).toBe(String(WORKER_DEFAULTS.sleep));
    expect(shown("concurrency")).toBe(String(WORKER_DEFAULTS.concurrency));
    expect(shown("grace")).toBe(String(WORKER_DEFAULTS.grace));
    expect(shown("name")).toBe(`"${WORKER_DEFAULTS.name}"`);
  });
});
