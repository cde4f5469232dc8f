import { BucketsClient } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { aWork, useTestService } from "./support/service.js";

/** Messages and bounds found in the first week of real use (#27). */

const { t } = useTestService(import.meta.filename);

const message = (body: unknown) => (body as { error: { message: string } }).error.message;

describe("a body over 16 MB", () => {
  it("of one work is told what fits one work, not to send fewer works", async () => {
    const huge = aWork({ pipeline: "huge-one", parameters: { blob: "x".repeat(17_000_000) } });
    const got = await t.call("POST", "/work", { token: t.tokens.alice, body: [huge] });
    expect(got.status).toBe(413);
    expect(message(got.body)).not.toContain("fewer works");
    expect(message(got.body)).toContain("no one work can be this large");
    expect(message(got.body)).toContain("keep large data in files");
  });
});

describe("POST /view newest first", () => {
  it("pages by arrival with before, each work carrying when it arrived", async () => {
    const first = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "arrive" }), aWork({ pipeline: "arrive" })],
    });
    const second = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline: "arrive" })],
    });
    const [a, b] = first.body as string[];
    const [c] = second.body as string[];
    const page = async (body: Record<string, unknown>) =>
      (
        await t.call("POST", "/view", {
          token: t.tokens.alice,
          body: { query: { pipeline: "arrive" }, order: "arrival", projection: { id: 1 }, ...body },
        })
      ).body as { id: string; arrived: number }[];
    const top = await page({ limit: 2 });
    expect(top.map((w) => w.id)).toEqual([c, b]);
    expect(top[0]?.arrived).toBeGreaterThanOrEqual(top[1]?.arrived ?? Infinity);
    const last = top.at(-1) as { id: string; arrived: number };
    const rest = await page({ before: { arrived: last.arrived, id: last.id } });
    expect(rest.map((w) => w.id)).toEqual([a]);
  });

  it("refuses a cursor of the other order with a 400 saying which to use", async () => {
    const mixed = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { order: "arrival", after: "0".repeat(24) },
    });
    expect(mixed.status).toBe(400);
    expect(message(mixed.body)).toContain('with order "arrival" use before');
    const alone = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: { before: { arrived: 1, id: "0".repeat(24) } },
    });
    expect(alone.status).toBe(400);
    expect(message(alone.body)).toContain('send order "arrival"');
  });
});

describe("DELETE /work from the client", () => {
  it("takes 1,200 ids (past what one URL holds) in several requests", async () => {
    const deposited = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: Array.from({ length: 1_200 }, () => aWork({ pipeline: "many-ids" })),
    });
    const ids = deposited.body as string[];
    const client = new BucketsClient({ baseUrls: [t.url], token: t.tokens.alice, env: {} });
    await client.delete(ids);
    expect(await client.count({ pipeline: "many-ids" })).toBe(0);
  });
});
