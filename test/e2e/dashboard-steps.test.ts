import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { pipelineConfig } from "../support/configs.js";
import { ARTIFACTS, useDashboard } from "../support/dashboard.js";

/**
 * The dashboard shows each work of a run with its step and matrix combination (Chromium through
 * playwright-core, against the real service and MongoDB), and filters by step.
 */

/** How long the page may take to show what the service already has (it polls every few s). */
const SEEN_MS = 20_000;

const { stack, page, signIn } = useDashboard(import.meta.filename);

describe("the dashboard and a run's steps", () => {
  it("lists a run's works with their step and combination, filters by step, and the work page says it", {
    timeout: 120_000,
  }, async () => {
    const pipeline = `ui-steps-${Math.random().toString(36).slice(2, 8)}`;
    const admin = stack.token("admin", ["admin"]);
    const config = pipelineConfig(
      pipeline,
      [
        { name: "fit", matrix: { alpha: [1, 2] }, work: { command: ["true"] } },
        { name: "merge", needs: ["fit"], work: { command: ["true"] } },
      ],
      { user: "admin" },
    );
    const started = await fetch(`${stack.url}/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ config }),
    });
    expect(started.status).toBe(201);
    const { works } = (await started.json()) as { works: string[] };

    await signIn(admin);
    await page.locator("header nav").getByRole("link", { name: "Works" }).click();
    await page.locator("input[name=pipeline]").fill(pipeline);
    await page.getByRole("button", { name: "Filter" }).click();
    const steps = page.locator("[data-test=works] tbody tr[data-id] td.step");
    await expect
      .poll(() => steps.allTextContents(), { timeout: SEEN_MS })
      // Newest first: a run's works arrive in step and matrix order.
      .toEqual(["merge", "fit [alpha=2]", "fit [alpha=1]"]);

    await page.locator("input[name=step]").fill("merge");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => steps.allTextContents(), { timeout: SEEN_MS }).toEqual(["merge"]);
    expect(decodeURIComponent(page.url())).toContain("step=merge");

    await page.locator(`[data-test=works] tr[data-id="${works[2]}"] a`).click();
    const fields = page.locator("[data-test=work] dl.fields");
    await expect.poll(() => fields.textContent(), { timeout: SEEN_MS }).toContain("stepmerge");
    await page.goto(`${stack.url}/#/work/${works[0]}`);
    await expect.poll(() => fields.textContent(), { timeout: SEEN_MS }).toContain("stepfit");
    await expect(fields.textContent()).resolves.toContain('matrix{"alpha":1}');
    await page.screenshot({ path: join(ARTIFACTS, "run-steps.png"), fullPage: true });
  });
});
