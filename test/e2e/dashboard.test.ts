import type { StoredWork, WorkInput } from "@workflow/work";
import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { pipelineConfig, yamlConfig } from "../support/configs.js";
import { useDashboard } from "../support/dashboard.js";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually, TEST_SECRET } from "../support/stack.js";

/**
 * The dashboard in a real browser (Chromium through playwright-core), against the real service,
 * MongoDB and worker processes. Each scenario saves a screenshot under test/artifacts/dashboard
 * and fails if the page logs a console error (beyond the one refusal a scenario expects).
 */

/** How long the page may take to show what the service already has (it polls every 2 s). */
const SEEN_MS = 20_000;

const { stack, page, context, owned, expectErrors, signIn } = useDashboard(import.meta.filename, {
  env: { BUCKETS_REAP_SECONDS: "1" },
});

let serial = 0;
const pipelineName = (what: string) =>
  `ui-${what}-${++serial}-${Math.random().toString(36).slice(2, 6)}`;

const admin = () => stack.token("admin", ["admin"]);

const login = signIn;

async function deposit(works: (Partial<WorkInput> & { pipeline: string })[]): Promise<string[]> {
  return (await stack.client().deposit(
    works.map((w) => ({ site: "local", user: "admin", ...w })),
    { returnIds: true },
  )) as string[];
}

/** A real worker process for `pipeline`. */
function worker(pipeline: string): Owned {
  const process = workerProcess([pipeline, "--url", stack.url, "--sleep", "0.2"], {
    WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
  });
  owned.push(process);
  return process;
}

const view = async (query: Record<string, unknown>) => stack.client().view(query);
const statusOf = async (id: string) =>
  ((await view({ id })) as StoredWork[])[0]?.status as string | undefined;

/** A cell of the overview's table. */
const cell = (pipeline: string, status: string) =>
  page.locator(`[data-test=counts] tr[data-pipeline="${pipeline}"] td[data-status=${status}]`);

async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

describe("the dashboard in a browser", () => {
  it("logs in with a pasted token, kept for the tab, and shows who is signed in", async () => {
    await page.goto(`${stack.url}/`);
    expect(page.url()).toBe(`${stack.url}/ui`);
    await expect(page.locator("#token").isVisible()).resolves.toBe(true);
    await login(admin());
    await expect(page.locator("[data-test=who]").textContent()).resolves.toContain("admin");
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    // The token is in sessionStorage, not in a cookie: a reload keeps the session.
    expect(await context.cookies()).toEqual([]);
    await page.reload();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
  });

  it("shows counts change as works are deposited and run by a real worker", async () => {
    const pipeline = pipelineName("counts");
    await login(admin());
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await deposit([1, 2, 3].map(() => ({ pipeline, command: ["sh", "-c", "echo counted"] })));
    await expect.poll(() => cell(pipeline, "queued").textContent(), { timeout: SEEN_MS }).toBe("3");
    worker(pipeline);
    await expect
      .poll(() => cell(pipeline, "success").textContent(), { timeout: SEEN_MS })
      .toBe("3");
    await expect(cell(pipeline, "queued").textContent()).resolves.toBe("0");
    // The worker appears among those seen recently, and the hour's chart counts its successes.
    await expect
      .poll(() => page.locator("[data-test=workers]").textContent(), { timeout: SEEN_MS })
      .toContain(pipeline);
    await expect
      .poll(
        async () =>
          Number(await page.locator("[data-test=chart-succeeded] [data-test=total]").textContent()),
        { timeout: SEEN_MS },
      )
      .toBeGreaterThanOrEqual(3);
  });

  it("filters works by a parameter, and a reload keeps the filter", async () => {
    const pipeline = pipelineName("params");
    const [l1, l2] = await deposit([
      { pipeline, command: ["true"], parameters: { band: "L", n: 1 } },
      { pipeline, command: ["true"], parameters: { band: "L", n: 2 } },
      { pipeline, command: ["true"], parameters: { band: "S", n: 3 } },
    ]);
    await login(admin());
    await page.locator("header nav").getByRole("link", { name: "Works" }).click();
    await page.locator("input[name=pipeline]").fill(pipeline);
    await page.locator("input[name=params]").fill("band=L");
    await page.getByRole("button", { name: "Filter" }).click();
    const rows = page.locator("[data-test=works] tbody tr[data-id]");
    // Newest first: one deposit's works arrive together, the later id first.
    await expect
      .poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id"))))
      .toEqual([l2, l1]);
    expect(decodeURIComponent(page.url())).toContain("params=band=L");
    await page.reload();
    await expect.poll(() => rows.count()).toBe(2);
    await expect(page.locator("input[name=params]").inputValue()).resolves.toBe("band=L");
    // A number is matched as a number.
    await page.locator("input[name=params]").fill("n=3");
    await page.getByRole("button", { name: "Filter" }).click();
    await expect.poll(() => rows.count()).toBe(1);
  });

  it("pages works by cursor: a page keeps its rows while works arrive", async () => {
    const pipeline = pipelineName("pages");
    const ids = await deposit(
      Array.from({ length: 60 }, (_, n) => ({ pipeline, command: ["true"], parameters: { n } })),
    );
    // Newest first (#27): one deposit arrives at once, so its works come later id first.
    const newest = [...ids].reverse();
    await login(admin());
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}`);
    const rows = page.locator("[data-test=works] tbody tr[data-id]");
    const shown = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id")));
    await expect.poll(shown).toEqual(newest.slice(0, 50));
    await page.locator("[data-test=next]").click();
    await expect.poll(shown).toEqual(newest.slice(50));
    // Works arriving meanwhile go on the first page; the page in view stays as it was.
    const later = await deposit(Array.from({ length: 5 }, () => ({ pipeline, command: ["true"] })));
    await page.reload();
    await expect.poll(shown).toEqual(newest.slice(50));
    await page.locator("[data-test=first]").click();
    await expect.poll(shown).toEqual([...later.reverse(), ...newest.slice(0, 45)]);
  });

  it("shows a schedule's next fire times, and pauses and resumes it", async () => {
    const pipeline = pipelineName("sched");
    const added = await call("POST", "/schedules", admin(), {
      name: pipeline,
      cron: "0 2 * * *",
      timezone: "UTC",
      target: { works: [{ pipeline, site: "local", user: "admin", command: ["true"] }] },
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    await login(admin());
    await page.locator("header nav").getByRole("link", { name: "Schedules" }).click();
    const row = page.locator(`[data-test=schedules] tr[data-name="${pipeline}"]`);
    await expect(row.locator("[data-test=state]").textContent()).resolves.toContain("active");
    await row.getByRole("button", { name: "next times" }).click();
    const next = row.locator("[data-test=next] li");
    await expect.poll(() => next.count()).toBeGreaterThanOrEqual(3);
    // Each a 02:00 UTC, a day apart, shown in the schedule's zone and naming it (#27).
    const times = await next.allTextContents();
    expect(times[0]).toMatch(/^\d{4}-\d\d-\d\d 02:00:00 UTC$/);
    const dates = times.map((t) =>
      new Date(`${t.replace(" ", "T").replace(" UTC", "")}Z`).getTime(),
    );
    expect(Number(dates[1]) - Number(dates[0])).toBe(86_400_000);
    await row.locator("[data-action=pause]").click();
    await expect.poll(() => row.locator("[data-test=state]").textContent()).toContain("paused");
    const paused = await call("GET", `/schedules/${(added.body as { id: string }).id}`, admin());
    expect((paused.body as { enabled: boolean }).enabled).toBe(false);
    await row.locator("[data-action=resume]").click();
    await expect.poll(() => row.locator("[data-test=state]").textContent()).toContain("active");
  });

  it("serves the API's documentation page at /docs, from /openapi.json", async () => {
    await page.goto(`${stack.url}/docs`);
    await page.getByRole("heading", { name: /^buckets / }).waitFor();
    const text = (await page.locator("#docs").textContent()) ?? "";
    expect(text).toContain("/work/withdraw");
    expect(text).toContain("/work/bulk");
    expect(text).toContain("/activity/minutes");
  });

  it("opens a work and follows its logs as they are written", async () => {
    const pipeline = pipelineName("logs");
    const [id] = await deposit([
      {
        pipeline,
        command: ["sh", "-c", "for i in 1 2 3 4 5 6; do echo step $i; sleep 0.5; done"],
      },
    ]);
    await login(admin());
    await page.goto(`${stack.url}/ui#/work/${id}`);
    await page.locator("[data-test=work]").waitFor();
    worker(pipeline);
    const logs = page.locator("[data-test=logs]");
    // A line shows while the work still runs: followed, not read once at the end.
    await expect.poll(() => logs.textContent(), { timeout: SEEN_MS }).toContain("step 1");
    expect(await page.locator("[data-test=log-state]").textContent()).toBe("following…");
    await expect.poll(() => logs.textContent(), { timeout: SEEN_MS }).toContain("step 6");
    expect(
      ((await logs.textContent()) ?? "").split("\n").filter((l) => l.startsWith("step ")),
    ).toEqual([1, 2, 3, 4, 5, 6].map((i) => `step ${i}`));
    await expect
      .poll(() => page.locator("[data-test=work]").getAttribute("data-status"), {
        timeout: SEEN_MS,
      })
      .toBe("success");
    await expect
      .poll(() => page.locator("[data-test=log-state]").textContent(), { timeout: SEEN_MS })
      .toBe("ended");
    const attempt = page.locator("[data-test=attempts] tr[data-attempt='1']");
    await expect(attempt.textContent()).resolves.toContain("success");
    // The results fold as JSON: the command's exit code and output are there.
    const results = page.locator("[data-test=results]");
    await expect.poll(() => results.textContent(), { timeout: SEEN_MS }).toContain("exitCode");
    expect(await results.locator("details").count()).toBeGreaterThanOrEqual(1);
  });

  it("retries a failed work, which runs again", async () => {
    const pipeline = pipelineName("retry");
    const [id] = await deposit([
      {
        pipeline,
        retries: 0,
        command: ["sh", "-c", "echo trying; echo 'no convergence' >&2; exit 3"],
      },
    ]);
    worker(pipeline);
    await eventually(async () => ((await statusOf(id as string)) === "failure" ? true : undefined));
    await login(admin());
    await page.goto(`${stack.url}/ui#/work/${id}`);
    await page.locator("[data-test=work][data-status=failure]").waitFor();
    await page.locator("[data-test=attempts] tr[data-attempt='1']").waitFor();
    await page.locator("[data-action=retry]").click();
    // Back to the queue, claimed by the worker, run and failed again: a second attempt.
    const second = page.locator("[data-test=attempts] tr[data-attempt='2']");
    await second.waitFor({ timeout: SEEN_MS });
    await expect.poll(() => second.textContent(), { timeout: SEEN_MS }).toContain("failure");
    const stored = ((await view({ id })) as StoredWork[])[0];
    expect(stored?.attempt).toBe(2);
    expect(stored?.history?.map((h) => h.status)).toEqual(["failure", "failure"]);
  });

  it("cancels a run from its graph, and reruns it", async () => {
    const pipeline = pipelineName("run");
    const config = yamlConfig(
      pipeline,
      [
        "    - name: prepare",
        "      stage: 1",
        '      work: {command: ["sh", "-c", "sleep 20"]}',
        "    - name: fit",
        "      stage: 2",
        "      needs: [prepare]",
        '      work: {command: ["true"]}',
      ],
      { user: "admin" },
    );
    const run = await call("POST", "/runs", admin(), { config });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    const runId = (run.body as { id: string }).id;
    worker(pipeline);
    await login(admin());
    await page.locator("header nav").getByRole("link", { name: "Runs" }).click();
    await page.locator(`[data-test=runs] tr[data-id="${runId}"] a`).click();
    const prepare = page.locator('[data-test=graph] [data-step="prepare"]');
    await expect
      .poll(() => prepare.getAttribute("data-state"), { timeout: SEEN_MS })
      .toBe("running");
    await expect(
      page.locator('[data-test=graph] [data-step="fit"]').getAttribute("data-state"),
    ).resolves.toBe("waiting");
    // The worker claims the step's work: the graph counts it as running.
    await expect.poll(() => prepare.textContent(), { timeout: SEEN_MS }).toContain("1 running");
    await page.locator("[data-action=cancel-run]").click();
    await expect
      .poll(() => page.locator("[data-test=run]").getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("cancelled");
    await expect.poll(() => prepare.textContent(), { timeout: SEEN_MS }).toContain("1 cancelled");
    // Both steps are drawn as cancelled now, the running one and the one that waited for it.
    await expect(prepare.getAttribute("data-state")).resolves.toBe("cancelled");
    await expect(
      page.locator('[data-test=graph] [data-step="fit"]').getAttribute("data-state"),
    ).resolves.toBe("cancelled");
    await expect(page.locator("[data-test=events]").textContent()).resolves.toContain("cancel");
    // Once over, the run offers a rerun: its first step's work is queued again, and the graph
    // follows (the worker is still ending the cancelled attempt: it learns of it at a heartbeat).
    await page.locator("[data-action=rerun]").click();
    await expect
      .poll(() => page.locator("[data-test=run]").getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("running");
    await expect
      .poll(() => prepare.getAttribute("data-state"), { timeout: SEEN_MS })
      .toBe("running");
    await expect
      .poll(() => prepare.textContent(), { timeout: SEEN_MS })
      .toMatch(/1 (queued|running)/);
    await page.locator("[data-action=cancel-run]").click();
    await expect
      .poll(() => page.locator("[data-test=run]").getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("cancelled");
  });

  it("draws a step made from a parent's results: fans out until the parent ends, then its count", async () => {
    const pipeline = pipelineName("fanout");
    const config = pipelineConfig(
      pipeline,
      [
        { name: "split", work: { command: ["true"] } },
        {
          name: "process",
          needs: ["split"],
          matrix: { partition: "${{ needs.split.results.partitions }}" },
          "max-parallel": 2,
          work: { command: ["true"], parameters: { p: "${{ matrix.partition }}" } },
        },
      ],
      { user: "admin" },
    );
    const run = await call("POST", "/runs", admin(), { config });
    expect(run.status, JSON.stringify(run.body)).toBe(201);
    const runId = (run.body as { id: string }).id;
    await login(admin());
    await page.goto(`${stack.url}/#/runs/${runId}`);
    const process = page.locator('[data-test=graph] [data-step="process"]');
    await expect
      .poll(() => process.textContent(), { timeout: SEEN_MS })
      .toContain("waiting · fans out at run time");
    await expect(process.locator("title").textContent()).resolves.toContain(
      "fans out from split.partitions at run time",
    );
    // The steps table says it as workflow pipeline ps does: where from, then how many were made.
    const works = page.locator('[data-test=steps] tr[data-step="process"] [data-test=works]');
    await expect(works.textContent()).resolves.toBe("fans out from split.partitions at run time");
    const workerToken = stack.token("worker", ["work:withdraw"]);
    const claimed = await call("POST", "/work/withdraw", workerToken, { pipeline });
    const split = claimed.body as { id: string; attempt: number; claim?: string };
    const reported = await call("PUT", "/work", workerToken, [
      { ...split, status: "success", results: { partitions: ["a", "b", "c"] } },
    ]);
    expect(reported.status, JSON.stringify(reported.body)).toBe(200);
    await expect
      .poll(() => process.textContent(), { timeout: SEEN_MS })
      .toContain("running · 3 works (fanned out)");
    await expect.poll(() => process.textContent(), { timeout: SEEN_MS }).toContain("2 queued");
    await expect(works.textContent()).resolves.toBe("3 (made at run time)");
    await expect(page.locator("[data-test=events]").textContent()).resolves.toContain(
      "3 works from split.partitions",
    );
    await page.locator("[data-action=cancel-run]").click();
    await expect
      .poll(() => page.locator("[data-test=run]").getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("cancelled");
  });

  it("bulk-cancels a filtered set after a confirmation that shows the count", async () => {
    const pipeline = pipelineName("bulk");
    const ids = await deposit([
      { pipeline, command: ["true"], tags: ["night"] },
      { pipeline, command: ["true"], tags: ["night"] },
      { pipeline, command: ["true"], tags: ["night"] },
      { pipeline, command: ["true"], tags: ["day"] },
    ]);
    await login(admin());
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}&tag=night`);
    await expect.poll(() => page.locator("[data-test=works] tbody tr[data-id]").count()).toBe(3);
    await page.locator("[data-test=bulk] [data-action=cancel]").click();
    const confirm = page.locator("[data-test=confirm]");
    await expect(confirm.locator("[data-test=count]").textContent()).resolves.toBe("3");
    await confirm.getByRole("button", { name: "Cancel 3" }).click();
    await expect(page.locator("[data-test=bulk-result]").textContent()).resolves.toContain(
      "3 of 3 done",
    );
    const statuses = await Promise.all(ids.map(statusOf));
    expect(statuses).toEqual(["cancelled", "cancelled", "cancelled", "queued"]);
    await expect
      .poll(() => page.locator("[data-test=works] [data-status=cancelled]").count())
      .toBe(3);
  });

  it("shows a read-only token no action buttons, and the API refuses the actions anyway", async () => {
    const pipeline = pipelineName("reader");
    const [id] = await deposit([{ pipeline, command: ["true"] }]);
    // Rita's own schedule (a list shows its reader's own), made with a token that may deposit.
    const schedule = await call("POST", "/schedules", stack.token("rita", ["work:deposit"]), {
      name: pipeline,
      cron: "0 2 * * *",
      target: { works: [{ pipeline, site: "local", user: "rita", command: ["true"] }] },
    });
    expect(schedule.status, JSON.stringify(schedule.body)).toBe(201);
    const reader = stack.token("rita", ["work:read"]);
    await login(reader);
    await expect(page.locator("[data-test=read-only]").isVisible()).resolves.toBe(true);
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}`);
    await page.locator(`[data-test=works] tr[data-id="${id}"]`).waitFor();
    expect(await page.locator("[data-test=bulk]").count()).toBe(0);
    await page.goto(`${stack.url}/ui#/work/${id}`);
    await page.locator("[data-test=work]").waitFor();
    expect(await page.locator("[data-test=actions]").count()).toBe(0);
    expect(await page.getByRole("button", { name: /retry|cancel|delete/i }).count()).toBe(0);
    await page.goto(`${stack.url}/ui#/schedules`);
    await page.locator(`[data-test=schedules] tr[data-name="${pipeline}"]`).waitFor();
    expect(await page.locator("[data-test=schedules] [data-action]").count()).toBe(0);
    // The buttons are hidden for the reader's sake; the service is what refuses.
    const refused = [
      await call("POST", `/work/${id}/cancel`, reader),
      await call("PUT", "/work", reader, [{ id, priority: 9 }]),
      await call("DELETE", `/work?ids=${id}`, reader),
      await call("POST", "/work/bulk", reader, {
        query: { pipeline },
        action: "cancel",
        confirmed: 1,
      }),
      await call("POST", `/schedules/${(schedule.body as { id: string }).id}/pause`, reader),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403]);
    expect(await statusOf(id as string)).toBe("queued");
  });

  it("tells a bad, forged or expired token apart with a clear error", async () => {
    await page.goto(`${stack.url}/ui`);
    const error = page.locator("[data-test=login-error]");
    await page.locator("#token").fill("hello");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(error.textContent()).resolves.toContain("not a buckets token");
    const expired = jwt.sign(
      { sub: "alice", scopes: ["work:read"], exp: Math.floor(Date.now() / 1000) - 60 },
      TEST_SECRET,
    );
    await page.locator("#token").fill(expired);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(error.textContent()).resolves.toContain("expired");
    // Well formed but not signed by this service: the service says so (401), and nothing opens.
    expectErrors(/status of 401/);
    const forged = jwt.sign(
      { sub: "mallory", scopes: ["admin"] },
      "not-the-service-secret-0123456789",
    );
    await page.locator("#token").fill(forged);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect.poll(() => error.textContent()).toContain("The service refused this token");
    expect(await page.locator("header nav").count()).toBe(0);
    expect(await page.evaluate("sessionStorage.length")).toBe(0);
  });
});
