import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

let t: TestService;
beforeAll(async () => {
  const { client } = await testDb(import.meta.filename);
  await client.close();
  // A quarter of a megabyte per /view answer, and two long-polls at a time.
  t = await startTestService(import.meta.filename, {
    BUCKETS_VIEW_MAX_MB: "0.25",
    BUCKETS_MAX_WAITERS: "2",
  });
  const blob = "x".repeat(60_000);
  const works = Array.from({ length: 6 }, (_, i) =>
    aWork({ pipeline: "big", parameters: { i, blob } }),
  );
  const got = await t.call("POST", "/work", { token: t.tokens.alice, body: works });
  expect(got.status).toBe(200);
});
afterAll(() => t.close());

describe("/view holds no more than its bound", () => {
  it("refuses an answer past the bound with a 413 that says how to ask for less", async () => {
    const got = await t.call("POST", "/view", { body: { query: { pipeline: "big" }, limit: 100 } });
    expect(got.status).toBe(413);
    const message = JSON.stringify(got.body);
    expect(message).toContain("over 0.25 MB");
    expect(message).toContain("projection");
    expect(message).toMatch(/after=[0-9a-f]{24}/);
  });

  it("answers the same works in pages, or without their heavy fields", async () => {
    const first = await t.call("POST", "/view", { body: { query: { pipeline: "big" }, limit: 3 } });
    const after = (first.body as { id: string }[]).at(-1)?.id;
    const second = await t.call("POST", "/view", {
      body: { query: { pipeline: "big" }, after, limit: 3 },
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    const ids = [...(first.body as { id: string }[]), ...(second.body as { id: string }[])].map(
      (w) => w.id,
    );
    expect(new Set(ids).size).toBe(6);
    const light = await t.call("POST", "/view", {
      body: { query: { pipeline: "big" }, projection: { "parameters.i": 1, status: 1 } },
    });
    expect(light.status).toBe(200);
    expect((light.body as unknown[]).length).toBe(6);
    expect(light.headers.get("content-type")).toContain("application/json");
  });
});

describe("long-poll waiters are bounded", () => {
  it("past the bound a withdraw that would wait gets 503 with Retry-After; the waiters still get work", async () => {
    const filter = { pipeline: "later" };
    const waiting = [1, 2].map(() =>
      t.call("POST", "/work/withdraw?wait=20", { token: t.tokens.worker, body: filter }),
    );
    while (t.service.dispatcher.waiting < 2)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const third = await t.call("POST", "/work/withdraw?wait=20", {
      token: t.tokens.worker,
      body: filter,
    });
    expect(third.status).toBe(503);
    expect(third.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(JSON.stringify(third.body)).toContain("BUCKETS_MAX_WAITERS");
    // Without `wait` nothing is held, so nothing is refused.
    const quick = await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: filter });
    expect(quick.status).toBe(200);

    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "later" }), aWork({ pipeline: "later" })],
    });
    const answers = await Promise.all(waiting);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(answers.every((a) => (a.body as { pipeline?: string })?.pipeline === "later")).toBe(
      true,
    );
  });
});
