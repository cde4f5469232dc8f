import { join } from "node:path";
import { MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { yamlConfig } from "../support/configs.js";
import { ARTIFACTS, useDashboard } from "../support/dashboard.js";
import { databaseName, uriFor } from "../support/db.js";
import { type Owned, workerProcess } from "../support/processes.js";

/**
 * A run's page in a real browser (Chromium through playwright-core) against the real service,
 * MongoDB and a worker process: its limits, Pause and Resume, a timed-out run's end, and its steps'
 * conditions on the graph.
 */

/** How long the page may take to show what the service already has (it polls every 2 s). */
const SEEN_MS = 20_000;

const { stack, page, signIn } = useDashboard(import.meta.filename, {
  env: { BUCKETS_REAP_SECONDS: "1" },
});
let mongo: MongoClient;
let worker: Owned | undefined;
let conditions: Owned | undefined;
beforeAll(async () => {
  mongo = await MongoClient.connect(uriFor(databaseName(import.meta.filename)));
});
afterAll(async () => {
  await worker?.stop("SIGKILL");
  await conditions?.stop("SIGKILL");
  await mongo?.close();
});

const runPage = () => page.locator("[data-test=run]");
const stepState = (name: string) =>
  page.locator(`[data-test=graph] [data-step="${name}"]`).getAttribute("data-state");
/** The fill and outline a step's node is drawn in. */
const colours = (name: string) =>
  page.evaluate(`(() => {
    const node = document.querySelector('[data-test=graph] [data-step="${name}"] rect');
    const style = getComputedStyle(node);
    return [style.fill, style.stroke];
  })()`);

describe("a run's page", () => {
  it("shows its limits, pauses and resumes it, and shows it timed out with a way to carry on", {
    timeout: 120_000,
  }, async () => {
    const pipeline = `ui-runctl-${Math.random().toString(36).slice(2, 8)}`;
    const config = yamlConfig(
      pipeline,
      [
        "    - name: slow",
        "      matrix: {n: [1, 2]}",
        '      work: {command: ["sh", "-c", "exec sleep 600"]}',
        "    - name: after",
        "      needs: [slow]",
        '      work: {command: ["true"]}',
      ],
      { user: "admin", header: ["timeout: 2h", "max-parallel: 1"] },
    );
    const { id } = await stack.client().startRun(config);
    worker = workerProcess([pipeline, "--url", stack.url, "--sleep", "0.2", "--lease", "3"], {
      WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
    });
    await signIn();
    await page.goto(`${stack.url}/ui#/runs/${id}`);
    await expect
      .poll(() => page.locator("[data-test=limits]").textContent(), { timeout: SEEN_MS })
      .toMatch(/times out .* · at most 1 works at once/);
    const slow = page.locator('[data-test=graph] [data-step="slow"]');
    await expect.poll(() => slow.textContent(), { timeout: SEEN_MS }).toContain("1 running");

    await page.locator("[data-action=pause-run]").click();
    await expect
      .poll(() => runPage().getAttribute("data-paused"), { timeout: SEEN_MS })
      .toBe("yes");
    await expect(page.locator("h2 [data-status=paused]").textContent()).resolves.toBe("paused");
    await expect
      .poll(() => page.locator("[data-test=events]").textContent(), { timeout: SEEN_MS })
      .toContain("run paused");
    await page.locator("[data-action=resume-run]").click();
    await expect.poll(() => runPage().getAttribute("data-paused"), { timeout: SEEN_MS }).toBe("no");
    await expect(page.locator("[data-action=pause-run]").isVisible()).resolves.toBe(true);

    // Its timeout passes (the deadline moved back, as if two hours went by).
    await mongo
      .db()
      .collection("runs")
      .updateOne({ _id: new ObjectId(id) }, { $set: { deadline: 0 } });
    await expect
      .poll(() => runPage().getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("timedout");
    await expect(page.locator("h2 [data-status=timedout]").isVisible()).resolves.toBe(true);
    await expect.poll(() => stepState("slow"), { timeout: SEEN_MS }).toBe("timedout");
    await expect(stepState("after")).resolves.toBe("timedout");
    await expect(page.locator("[data-test=events]").textContent()).resolves.toContain(
      "run timed out",
    );
    await expect(page.locator("[data-action=rerun-unfinished]").isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(ARTIFACTS, "run-paused-timedout.png"), fullPage: true });
  });

  it("draws each step's if: on the graph, and whether it held", { timeout: 120_000 }, async () => {
    const pipeline = `ui-if-${Math.random().toString(36).slice(2, 8)}`;
    const config = yamlConfig(
      pipeline,
      [
        "    - name: fit",
        '      work: {command: ["true"]}',
        "    - name: alarm",
        "      needs: [fit]",
        "      if: needs.fit.result == 'failure'",
        '      work: {command: ["true"]}',
        "    - name: report",
        "      needs: [fit]",
        "      if: always()",
        '      work: {command: ["true"]}',
        "    - name: publish",
        "      needs: [alarm]",
        '      work: {command: ["true"]}',
      ],
      { user: "admin" },
    );
    const { id } = await stack.client().startRun(config);
    await signIn();
    await page.goto(`${stack.url}/ui#/runs/${id}`);
    const condition = (step: string) =>
      page.locator(`[data-test=graph] [data-step="${step}"] [data-test=condition]`);
    // No worker yet: fit has not ended, so alarm's condition is not evaluated.
    await expect
      .poll(() => condition("alarm").getAttribute("data-held"), { timeout: SEEN_MS })
      .toBe("pending");
    await expect(condition("alarm").textContent()).resolves.toContain("… if needs.fit.result ==");
    // A step with no state of its own colours yet is drawn plain.
    await expect(colours("alarm")).resolves.toEqual(["rgb(236, 239, 241)", "rgb(120, 144, 156)"]);
    // The page of the run before (paused and resumed there) said so; this run's page does not.
    await expect(runPage().locator(".done").count()).resolves.toBe(0);
    await expect(
      page.locator('[data-test=steps] tr[data-step="alarm"] [data-test=if]').textContent(),
    ).resolves.toBe("needs.fit.result == 'failure'");
    await expect(page.locator("[data-test=graph] .edge.conditional").count()).resolves.toBe(2);

    conditions = workerProcess([pipeline, "--url", stack.url, "--sleep", "0.2"], {
      WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
    });
    await expect
      .poll(() => runPage().getAttribute("data-status"), { timeout: 60_000 })
      .toBe("success");
    await expect
      .poll(() => condition("alarm").getAttribute("data-held"), { timeout: SEEN_MS })
      .toBe("no");
    await expect(stepState("alarm")).resolves.toBe("skipped");
    await expect(condition("report").getAttribute("data-held")).resolves.toBe("yes");
    await expect(condition("report").textContent()).resolves.toContain("✓ if always()");
    await expect(stepState("report")).resolves.toBe("success");
    // publish has no if: of its own; the default, success(), did not hold (alarm was skipped).
    await expect(condition("publish").textContent()).resolves.toContain("✗ if success()");
    await expect(stepState("publish")).resolves.toBe("skipped");
    // Each state's colours reach its node.
    await expect(colours("report")).resolves.toEqual(["rgb(200, 230, 201)", "rgb(46, 125, 50)"]);
    await expect(colours("alarm")).resolves.toEqual(["rgb(225, 190, 231)", "rgb(106, 27, 154)"]);
    await expect(condition("fit").count()).resolves.toBe(0);
    await expect(
      page.locator('[data-test=graph] [data-step="alarm"] title').textContent(),
    ).resolves.toContain("if needs.fit.result == 'failure': did not hold: skipped");
    await page.screenshot({ path: join(ARTIFACTS, "run-conditions.png"), fullPage: true });
  });
});
