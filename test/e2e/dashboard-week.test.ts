import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { ARTIFACTS, useDashboard } from "../support/dashboard.js";
import { testDb } from "../support/db.js";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually } from "../support/stack.js";

/**
 * The dashboard after a week of real use (#27), in Chromium against the real service, MongoDB
 * and worker processes: bulk actions past any size with their progress, the Works page sorted for
 * people, the workers' last contact, and the smaller fixes. A screenshot per scenario goes to
 * test/artifacts/dashboard; a console error the scenario does not expect fails it.
 */

/** How long the page may take to show what the service already has (it polls every 2 to 15 s). */
const SEEN_MS = 30_000;

const { stack, page, owned, expectErrors, signIn } = useDashboard(import.meta.filename, {
  viewport: { width: 1500, height: 900 },
  screenshots: "week-",
});

let serial = 0;
const pipelineName = (what: string) =>
  `wk-${what}-${++serial}-${Math.random().toString(36).slice(2, 6)}`;
const admin = () => stack.token("admin", ["admin"]);

const login = signIn;

/** Deposits in requests of 5,000 (a request takes 10,000 at most). */
async function deposit(works: (Partial<WorkInput> & { pipeline: string })[]): Promise<string[]> {
  const ids: string[] = [];
  for (let at = 0; at < works.length; at += 5_000) {
    ids.push(
      ...((await stack.client().deposit(
        works.slice(at, at + 5_000).map((w) => ({ site: "local", user: "admin", ...w })),
        { returnIds: true },
      )) as string[]),
    );
  }
  return ids;
}

function worker(pipeline: string): Owned {
  const process = workerProcess([pipeline, "--url", stack.url, "--sleep", "0.2"], {
    WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
  });
  owned.push(process);
  return process;
}

const count = (query: Record<string, unknown>) => stack.client().count(query);
const statusOf = async (id: string) =>
  ((await stack.client().view({ id })) as StoredWork[])[0]?.status;
const text = async (selector: string) => (await page.locator(selector).textContent()) ?? "";

describe("bulk actions on a filter of any size", () => {
  it("deletes 12,000 works with a progress line; cut off, a second Delete does the rest", async () => {
    const pipeline = pipelineName("del");
    await deposit(Array.from({ length: 12_000 }, () => ({ pipeline, command: ["true"] })));
    await login(admin());
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}`);
    await page.locator("[data-test=bulk] [data-action=delete]").click();
    const confirm = page.locator("[data-test=confirm]");
    await expect(confirm.locator("[data-test=count]").textContent()).resolves.toBe("12000");
    await confirm.getByRole("button", { name: "Delete 12000" }).click();
    const progress = page.locator("[data-test=bulk-result]");
    await expect
      .poll(() => progress.textContent(), { timeout: SEEN_MS })
      .toMatch(/Delete: [1-9]\d* of 12000 done…/);
    // The connection goes: the action stops between pages and says how far it got.
    expectErrors(/Failed to load resource/);
    await page.route("**/work/bulk", (route) => route.abort());
    await expect
      .poll(() => progress.textContent(), { timeout: SEEN_MS })
      .toContain("stopped: run it again to carry on");
    const said = /Delete: (\d+) of 12000 done/.exec((await progress.textContent()) ?? "");
    const left = await count({ pipeline });
    expect(Number(said?.[1])).toBe(12_000 - left);
    expect(left).toBeGreaterThan(0);
    await page.unroute("**/work/bulk");
    await page.locator("[data-test=bulk] [data-action=delete]").click();
    await expect(confirm.locator("[data-test=count]").textContent()).resolves.toBe(String(left));
    await confirm.getByRole("button", { name: `Delete ${left}` }).click();
    await expect
      .poll(() => progress.textContent(), { timeout: SEEN_MS })
      .toContain(`Delete: ${left} of ${left} done`);
    expect(await count({ pipeline })).toBe(0);
    await expect
      .poll(() => text("[data-test=works] tbody"), { timeout: SEEN_MS })
      .toContain("No works match.");
    await expect.poll(() => text("[data-test=matches]")).toBe("0 works match, newest first");
  });
});

describe("the Works page", () => {
  it("lists newest first with a match count, duration and error columns", async () => {
    const pipeline = pipelineName("list");
    const [older] = await deposit([{ pipeline, command: ["sh", "-c", "echo fine"] }]);
    const [failing] = await deposit([
      { pipeline, retries: 0, command: ["sh", "-c", "echo 'no convergence' >&2; exit 3"] },
    ]);
    const [newest] = await deposit([{ pipeline, command: ["sleep", "60"] }]);
    worker(pipeline);
    await eventually(async () =>
      (await statusOf(failing as string)) === "failure" &&
      (await statusOf(newest as string)) === "running"
        ? true
        : undefined,
    );
    await login(admin());
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}`);
    const rows = page.locator("[data-test=works] tbody tr[data-id]");
    await expect
      .poll(() => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-id"))))
      .toEqual([newest, failing, older]);
    await expect.poll(() => text("[data-test=matches]")).toBe("3 works match, newest first");
    const row = (id: string | undefined) => page.locator(`tr[data-id="${id}"]`);
    await expect
      .poll(() => row(failing).locator("[data-test=error]").textContent())
      .toContain("exit");
    await expect
      .poll(() => row(older).locator("[data-test=duration]").textContent())
      .toMatch(/\d s/);
    // A running work's duration grows as it runs.
    await expect
      .poll(() => row(newest).locator("[data-test=duration]").textContent())
      .toMatch(/s…$/);
  });

  it("warns on a success whose results were over the cap, in its row and on its page", async () => {
    const pipeline = pipelineName("cap");
    const [id] = await deposit([{ pipeline, command: ["true"] }]);
    const client = stack.client({ workerId: "node-9" });
    const claimed = (await client.withdraw({ pipeline })) as StoredWork;
    await client.update([
      {
        id: claimed.id,
        attempt: claimed.attempt as number,
        status: "success",
        results: {
          error: "results dropped: results are 5000000 bytes, over the 4000000-byte cap",
          droppedBytes: 5_000_000,
        },
      },
    ]);
    await login(admin());
    await page.goto(`${stack.url}/ui#/works?pipeline=${pipeline}`);
    const cell = page.locator(`tr[data-id="${id}"] [data-test=error]`);
    await expect.poll(() => cell.textContent()).toContain("results dropped");
    expect(await cell.getAttribute("class")).toBe("warning-text");
    await page.goto(`${stack.url}/ui#/work/${id}`);
    await expect.poll(() => text("[data-test=dropped]")).toContain("over the 4000000-byte cap");
  });
});

describe("Workers seen recently", () => {
  it("shows an idle live worker's last poll and what it serves, and a silent one apart", async () => {
    const pipeline = pipelineName("idle");
    worker(pipeline);
    // A worker that stopped five minutes ago: its last contact moved back, not waited for.
    const { client, db } = await testDb(import.meta.filename, "", { drop: false });
    try {
      await eventually(async () =>
        (await db.collection("workers").countDocuments({ pipelines: pipeline })) > 0
          ? true
          : undefined,
      );
      // A contact is keyed by the token's user and the worker's id.
      await db.collection<{ _id: { user: string; worker: string } }>("workers").insertOne({
        _id: { user: "worker", worker: "gone-worker" },
        user: "worker",
        worker: "gone-worker",
        at: Date.now() / 1000 - 300,
        via: "heartbeat",
        pipelines: [pipeline],
        expires: new Date(Date.now() + 86_400_000),
      } as never);
    } finally {
      await client.close();
    }
    await login(admin());
    const idle = page
      .locator("[data-test=workers] tr[data-worker]", { hasText: pipeline })
      .and(page.locator(':not([data-worker="gone-worker"])'));
    await expect.poll(() => idle.getAttribute("data-state"), { timeout: SEEN_MS }).toBe("idle");
    expect(await idle.locator("[data-test=contact]").textContent()).toMatch(/s ago \(poll\)/);
    expect(await idle.locator("[data-test=serves]").textContent()).toBe(pipeline);
    const gone = page.locator('[data-test=workers] tr[data-worker="gone-worker"]');
    await expect.poll(() => gone.getAttribute("data-state")).toBe("silent");
    expect(await gone.locator("[data-test=contact]").textContent()).toMatch(
      /^5 min \d+ s ago \(heartbeat\)$/,
    );
  });
});

describe("the smaller fixes", () => {
  it("names an environment variable that exists on the login page", async () => {
    await page.goto(`${stack.url}/ui`);
    const placeholder = (await page.locator("#token").getAttribute("placeholder")) ?? "";
    expect(placeholder).toContain("WORKFLOW_TOKEN");
    expect(placeholder).not.toContain("BUCKETS_TOKEN");
  });

  it("says an unknown route is not a page, with the way on, rather than loading for ever", async () => {
    await login(admin());
    await page.goto(`${stack.url}/ui#/nowhere/at-all`);
    await expect.poll(() => text("[data-test=not-found]")).toContain("no page #/nowhere/at-all");
    expect(await page.locator("[data-test=not-found] a").allTextContents()).toEqual([
      "Overview",
      "Works",
      "Runs",
      "Schedules",
    ]);
    await page.screenshot({ path: join(ARTIFACTS, "week-no-such-page.png"), fullPage: true });
    // A work that is not there: the refusal, and no "Loading…" under it.
    expectErrors(/404/);
    await page.goto(`${stack.url}/ui#/work/${"0".repeat(24)}`);
    await expect.poll(() => text("main section")).toContain("no work");
    expect(await text("main section")).not.toContain("Loading");
    // The nav's links are words apart.
    expect(await page.locator("header nav").textContent()).toMatch(/Runs\s+Schedules/);
  });

  it("writes Bearer <token> on /docs and marks /metrics as needing a token", async () => {
    await page.goto(`${stack.url}/docs`);
    await page.getByRole("heading", { name: /^buckets / }).waitFor();
    const docs = (await page.locator("#docs").textContent()) ?? "";
    expect(docs).toContain("Authorization: Bearer <token>");
    expect(docs).not.toContain("&lt;");
    const metrics = page.locator("section.op", {
      has: page.locator("code", { hasText: /^\/metrics$/ }),
    });
    await expect(metrics.textContent()).resolves.not.toContain("(no token)");
    const version = page.locator("section.op", {
      has: page.locator("code", { hasText: /^\/version$/ }),
    });
    await expect(version.first().textContent()).resolves.toContain("(no token)");
  });

  it("lists a paused schedule's next times from now, in the schedule's zone", async () => {
    const pipeline = pipelineName("paused");
    const added = await fetch(`${stack.url}/schedules`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin()}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: pipeline,
        cron: "* * * * *",
        timezone: "Europe/Berlin",
        target: { works: [{ pipeline, site: "local", user: "admin", command: ["true"] }] },
      }),
    });
    const { id } = (await added.json()) as { id: string };
    await fetch(`${stack.url}/schedules/${id}/pause`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin()}` },
    });
    // Paused long enough that its stored next time is gone: moved back, not waited for.
    const { client: mongo, db } = await testDb(import.meta.filename, "", { drop: false });
    try {
      await db
        .collection("schedules")
        .updateOne({ name: pipeline }, { $set: { nextRun: Date.now() / 1000 - 3_600 } });
    } finally {
      await mongo.close();
    }
    await login(admin());
    await page.locator("header nav").getByRole("link", { name: "Schedules" }).click();
    const row = page.locator(`[data-test=schedules] tr[data-name="${pipeline}"]`);
    await expect.poll(() => row.locator("[data-test=state]").textContent()).toContain("paused");
    expect((await row.locator("[data-test=next-run]").textContent())?.trim()).toBe("paused");
    await row.getByRole("button", { name: "next times" }).click();
    const next = row.locator("[data-test=next] li");
    await expect.poll(() => next.count()).toBeGreaterThanOrEqual(3);
    expect(await row.textContent()).toContain("if resumed now:");
    const now = Date.now();
    for (const shown of await next.allTextContents()) {
      expect(shown).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:00 Europe\/Berlin$/);
      const [date, time] = shown.split(" ");
      // Berlin is UTC+1 or +2: a time in the past would be an hour or more before now.
      expect(new Date(`${date}T${time}Z`).getTime()).toBeGreaterThan(now);
    }
  });

  it("shows stdout as lines, spaces the attempt's state, and asks before cancelling one work", async () => {
    const pipeline = pipelineName("one");
    const [done] = await deposit([
      { pipeline, command: ["sh", "-c", "echo first line; echo second line; echo third line"] },
    ]);
    worker(pipeline);
    await eventually(async () =>
      (await statusOf(done as string)) === "success" ? true : undefined,
    );
    await login(admin());
    await page.goto(`${stack.url}/ui#/work/${done}`);
    const stdout = page.locator("[data-test=results-stdout]");
    await expect.poll(() => stdout.textContent(), { timeout: SEEN_MS }).toContain("third line");
    expect(((await stdout.textContent()) ?? "").split("\n").slice(0, 3)).toEqual([
      "first line",
      "second line",
      "third line",
    ]);
    await expect
      .poll(() => page.locator(".logs > p").first().textContent(), { timeout: SEEN_MS })
      .toBe("Attempt 1 · ended");
    await page.screenshot({ path: join(ARTIFACTS, "week-work-stdout.png"), fullPage: true });
    // Cancel asks first: dismissed, nothing happens; accepted, the work is cancelled.
    const [waiting] = await deposit([{ pipeline: pipelineName("nobody"), command: ["true"] }]);
    await page.goto(`${stack.url}/ui#/work/${waiting}`);
    await page.locator("[data-action=cancel]").waitFor();
    const asked: string[] = [];
    page.once("dialog", (dialog) => {
      asked.push(dialog.message());
      void dialog.dismiss();
    });
    await page.locator("[data-action=cancel]").click();
    await expect.poll(() => asked.length).toBe(1);
    expect(asked[0]).toContain(`Cancel work ${waiting}?`);
    expect(await statusOf(waiting as string)).toBe("queued");
    page.once("dialog", (dialog) => void dialog.accept());
    await page.locator("[data-action=cancel]").click();
    await expect.poll(() => statusOf(waiting as string)).toBe("cancelled");
  });
});
