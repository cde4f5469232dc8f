import { BULK_PAGE_WORKS, type BulkResult } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { aWork, useTestService } from "./support/service.js";

/** POST /work/bulk on filters larger than a page: page after page, each work checked (#27). */

const { t } = useTestService(import.meta.filename);

let serial = 0;
const fresh = (what: string) => `pages-${what}-${++serial}`;

async function deposit(pipeline: string, n: number, token = t.tokens.alice, user = "alice") {
  const answer = await t.call("POST", "/work?return_ids=true", {
    token,
    body: Array.from({ length: n }, (_, i) => aWork({ pipeline, user, parameters: { i } })),
  });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as string[];
}

const count = async (query: Record<string, unknown>) =>
  (await t.call("POST", "/view/count", { token: t.tokens.admin, body: { query } })).body as number;

async function page(token: string, body: Record<string, unknown>) {
  const answer = await t.call("POST", "/work/bulk", { token, body });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as BulkResult;
}

describe("a bulk action past one page", () => {
  it("takes a confirmed count past 5,000 and does one page, naming where the next starts", async () => {
    const pipeline = fresh("big");
    await deposit(pipeline, 6_000);
    const first = await page(t.tokens.alice, {
      query: { pipeline },
      action: "delete",
      confirmed: 6_000,
    });
    expect(first).toMatchObject({ matched: BULK_PAGE_WORKS, done: BULK_PAGE_WORKS, refused: 0 });
    expect(first.next).toMatch(/^[0-9a-f]{24}$/);
    expect(await count({ pipeline })).toBe(6_000 - BULK_PAGE_WORKS);
    let after = first.next;
    let confirmed = 6_000 - BULK_PAGE_WORKS;
    while (after) {
      const next = await page(t.tokens.alice, {
        query: { pipeline },
        action: "delete",
        confirmed,
        after,
      });
      confirmed -= next.matched;
      after = next.next;
    }
    expect(await count({ pipeline })).toBe(0);
  });

  it("passes the works it may not touch and carries on with the rest", async () => {
    const pipeline = fresh("mixed");
    // Bob's works first in id order: a page of them all refused must not stop the action.
    const bobs = await deposit(pipeline, BULK_PAGE_WORKS + 10, t.tokens.bob, "bob");
    await deposit(pipeline, 500);
    const first = await page(t.tokens.alice, {
      query: { pipeline },
      action: "delete",
      confirmed: bobs.length + 500,
    });
    expect(first).toMatchObject({ matched: BULK_PAGE_WORKS, done: 0, refused: BULK_PAGE_WORKS });
    expect(first.reasons[0]?.message).toContain("bob");
    const second = await page(t.tokens.alice, {
      query: { pipeline },
      action: "delete",
      confirmed: 510,
      after: first.next,
    });
    expect(second).toMatchObject({ matched: 510, done: 500, refused: 10 });
    expect(second.next).toBeUndefined();
    expect(await count({ pipeline })).toBe(bobs.length);
  });

  it("refuses a page when more works match past it than are left of the confirmed count", async () => {
    const pipeline = fresh("grew");
    await deposit(pipeline, BULK_PAGE_WORKS + 5);
    const first = await page(t.tokens.alice, {
      query: { pipeline },
      action: "cancel",
      confirmed: BULK_PAGE_WORKS + 5,
    });
    await deposit(pipeline, 3);
    const more = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline }, action: "cancel", confirmed: 5, after: first.next },
    });
    expect(more.status).toBe(409);
    expect(JSON.stringify(more.body)).toContain("more than the 5 confirmed: count again");
    expect(await count({ pipeline, status: "queued" })).toBe(8);
  });

  it("refuses a cursor that is not an id with a 400 naming it", async () => {
    const answer = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline: "x" }, action: "delete", confirmed: 1, after: "page-2" },
    });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain("after");
  });
});
