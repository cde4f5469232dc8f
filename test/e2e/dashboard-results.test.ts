import { join } from "node:path";
import { expect, it } from "vitest";
import { ARTIFACTS, useDashboard } from "../support/dashboard.js";
import { own, WORKFLOW_CLI, workerProcess } from "../support/processes.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * The dashboard's Results page in Chromium: works run by a real worker process, moved to the
 * results store by `workflow results transfer`, then found with the Works page's filters, counted
 * and paged. The screenshot goes to test/artifacts/dashboard/.
 */

const SEEN_MS = 30_000;
const PIPELINE = "ui-results";
/** More than a page (50), so that the page has a next one. */
const WORKS = 56;
const FAILING = 3;

const { stack, page, owned, signIn } = useDashboard(import.meta.filename);
const home = useTempDir("dashboard-results-");

const login = signIn;

it("results page: finds transferred works by pipeline, status, tag and event, counts and pages them", {
  timeout: 180_000,
}, async () => {
  const admin = stack.token("admin", ["admin"]);
  const works = Array.from({ length: WORKS }, (_, n) => ({
    pipeline: PIPELINE,
    site: "local",
    user: "admin",
    command: n < FAILING ? ["false"] : ["true"],
    retries: 0,
    tags: [n % 2 === 0 ? "even" : "odd"],
    event: [1000 + n],
  }));
  await stack.client().deposit(works, { returnIds: true });
  const worker = workerProcess(
    [PIPELINE, "--url", stack.url, "--concurrency", "4", "--sleep", "0.2"],
    { WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]) },
  );
  owned.push(worker);
  const unfinished = () =>
    stack.client().count({ pipeline: PIPELINE, status: { $nin: ["success", "failure"] } });
  await expect.poll(unfinished, { timeout: 120_000, interval: 200 }).toBe(0);
  await worker.stop("SIGTERM");
  const transfer = own(
    process.execPath,
    [WORKFLOW_CLI, "--url", stack.url, "--token", admin, "results", "transfer"],
    { HOME: home },
  );
  owned.push(transfer);
  expect(await transfer.exited, transfer.output()).toBe(0);
  expect(await stack.client().count({ pipeline: PIPELINE })).toBe(0);

  await login(admin);
  await page.locator("header nav").getByRole("link", { name: "Results" }).click();
  await page.getByRole("heading", { name: "Results" }).waitFor();
  await page.locator("input[name=pipeline]").fill(PIPELINE);
  await page.getByRole("button", { name: "Filter" }).click();
  const rows = page.locator("[data-test=results] tbody tr[data-id]");
  const count = page.locator("[data-test=result-count]");
  await expect
    .poll(() => count.textContent(), { timeout: SEEN_MS })
    .toContain(`${WORKS} results match`);
  await expect.poll(() => rows.count()).toBe(50);
  await page.screenshot({ path: join(ARTIFACTS, "results-page.png"), fullPage: true });
  await page.locator("[data-test=next]").click();
  await expect.poll(() => rows.count()).toBe(WORKS - 50);
  await expect.poll(() => count.textContent()).toContain(`showing 51–${WORKS}`);

  // The same filters as Works: status, tag and event, kept in the URL across a reload.
  await page.locator("select[name=status]").selectOption("failure");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect.poll(() => rows.count()).toBe(FAILING);
  await expect.poll(() => count.textContent()).toContain(`${FAILING} results match`);
  await page.locator("input[name=tag]").fill("even");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect.poll(() => rows.count()).toBe(2);
  await page.reload();
  await expect.poll(() => rows.count(), { timeout: SEEN_MS }).toBe(2);
  await page.goto(`${stack.url}/ui#/results?pipeline=${PIPELINE}&event=1010`);
  await expect.poll(() => rows.count(), { timeout: SEEN_MS }).toBe(1);
  await expect(rows.first().locator("[data-status]").textContent()).resolves.toBe("success");
});
