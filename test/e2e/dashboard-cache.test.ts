import { describe, expect, it } from "vitest";
import { useDashboard } from "../support/dashboard.js";
import { workerProcess } from "../support/processes.js";
import { eventually } from "../support/stack.js";

/**
 * The dashboard's work and run pages in Chromium say which works were taken from the cache (issue
 * #29), against the real service, MongoDB and a worker process. Screenshots go to
 * test/artifacts/dashboard; a console error fails the scenario.
 */
const SEEN_MS = 20_000;
const CONFIG = (pipeline: string) => `
version: "2"
name: ${pipeline}
defaults: {user: admin, site: local}
cache: true
pipeline:
  steps:
    - name: prepare
      work: {command: ["sh", "-c", "echo prepared"]}
    - name: combine
      needs: prepare
      work: {command: ["sh", "-c", "echo combined"], parameters: {n: 2}}
`;

const { stack, page, owned, signIn } = useDashboard(import.meta.filename);

const login = () => signIn();

async function runToEnd(pipeline: string): Promise<string> {
  const { id } = await stack.client().startRun(CONFIG(pipeline));
  await eventually(async () =>
    (await stack.client().run(id)).status === "running" ? undefined : true,
  );
  return id;
}

describe("the dashboard and the cache", () => {
  it("a reused work's page names the success it was taken from; the run page counts reused works per step", {
    timeout: 90_000,
  }, async () => {
    const pipeline = `ui-cache-${Math.random().toString(36).slice(2, 8)}`;
    owned.push(
      workerProcess([pipeline, "--url", stack.url, "--sleep", "0.2"], {
        WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
      }),
    );
    const first = await runToEnd(pipeline);
    const second = await runToEnd(pipeline);
    const prepared = async (run: string) =>
      (await stack.client().view({ "config.parent": run })).find((w) =>
        w.command?.includes("echo prepared"),
      );
    const original = await prepared(first);
    const reused = await prepared(second);
    expect(reused?.cached?.from).toBe(original?.id);

    await login();
    await page.goto(`${stack.url}/ui#/runs/${second}`);
    const cached = (step: string) =>
      page.locator(`[data-test=steps] tr[data-step=${step}] [data-test=cached]`);
    await expect.poll(() => cached("prepare").textContent(), { timeout: SEEN_MS }).toBe("1");
    await expect(cached("combine").textContent()).resolves.toBe("1");
    // The graph counts them too, as workflow pipeline ps does.
    await expect(
      page.locator('[data-test=graph] [data-step="prepare"] .counts').textContent(),
    ).resolves.toBe("1 success, 1 cached");
    await page.goto(`${stack.url}/ui#/runs/${first}`);
    await expect.poll(() => cached("prepare").textContent(), { timeout: SEEN_MS }).toBe("0");

    await page.goto(`${stack.url}/ui#/work/${reused?.id}`);
    const note = page.locator("[data-test=cached]");
    await note.waitFor({ timeout: SEEN_MS });
    await expect(note.textContent()).resolves.toContain(original?.id as string);
    await note.getByRole("link").click();
    await page.getByRole("heading", { name: `Work ${original?.id}` }).waitFor();
    await expect(page.locator("[data-test=cached]").count()).resolves.toBe(0);
  });
});
