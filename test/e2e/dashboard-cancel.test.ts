import { describe, expect, it } from "vitest";
import { useDashboard } from "../support/dashboard.js";

/**
 * The work page offers Cancel only where the service would cancel: a final failure has no Cancel
 * (clicking it answered 409), a failure awaiting its retry has one (Chromium, real service).
 */

const SEEN_MS = 20_000;

const { stack, page, signIn } = useDashboard(import.meta.filename);

async function call(method: string, path: string, token: string, body?: unknown) {
  const response = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  expect(response.status, path).toBe(200);
  return response.json() as Promise<unknown>;
}

/** A work of `pipeline` that failed once, with `retries` retries it was allowed. */
async function failed(admin: string, pipeline: string, retries: number): Promise<string> {
  const work = { pipeline, site: "local", user: "admin", command: ["false"], retries };
  const [id] = (await call("POST", "/work?return_ids=true", admin, [work])) as string[];
  const claimed = (await call("POST", "/work/withdraw", admin, { pipeline })) as {
    id: string;
    attempt: number;
  };
  expect(claimed.id).toBe(id);
  await call("PUT", "/work", admin, [{ id, attempt: claimed.attempt, status: "failure" }]);
  return id as string;
}

describe("the work page's Cancel", () => {
  it("is not offered on a final failure, and is on a failure awaiting its retry", {
    timeout: 120_000,
  }, async () => {
    const admin = stack.token("admin", ["admin"]);
    const tag = Math.random().toString(36).slice(2, 8);
    const final = await failed(admin, `ui-cancel-final-${tag}`, 0);
    const retrying = await failed(admin, `ui-cancel-retry-${tag}`, 2);

    await signIn(admin);
    const section = page.locator("[data-test=work]");
    const cancel = page.locator("[data-test=work] button[data-action=cancel]");
    await page.goto(`${stack.url}/#/work/${retrying}`);
    await expect
      .poll(() => section.getAttribute("data-status"), { timeout: SEEN_MS })
      .toBe("failure");
    await expect.poll(() => cancel.count(), { timeout: SEEN_MS }).toBe(1);

    await page.goto(`${stack.url}/#/work/${final}`);
    // The final failure's own fields shown, its buttons drawn (Retry), before Cancel is counted.
    const fields = page.locator("[data-test=work] dl.fields");
    await expect
      .poll(() => fields.textContent(), { timeout: SEEN_MS })
      .toContain(`ui-cancel-final-${tag}`);
    await expect.poll(() => section.locator("button[data-action=retry]").count()).toBe(1);
    expect(await cancel.count()).toBe(0);
  });
});
