import { describe, expect, it } from "vitest";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const deposit = async (n: number) =>
  (
    await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: Array.from({ length: n }, () => aWork({ pipeline: "paged" })),
    })
  ).body as string[];
const page = async (after?: string) =>
  (
    (
      await t.call("POST", "/view", {
        body: { query: { pipeline: "paged" }, projection: { id: 1 }, limit: 10, after },
      })
    ).body as { id: string }[]
  ).map((w) => w.id);

describe("view paging", () => {
  it("pages with after=<id> in id order, and works arriving meanwhile neither repeat nor hide others", async () => {
    const first = await deposit(25);
    const seen: string[] = [];
    let last: string | undefined;
    for (let round = 0; round < 10; round++) {
      const ids = await page(last);
      if (ids.length === 0) break;
      seen.push(...ids);
      last = ids.at(-1);
      // New works arrive while someone pages through.
      if (round === 0) first.push(...(await deposit(5)));
    }
    expect(seen).toEqual(first);
    expect(new Set(seen).size).toBe(30);
  });

  it("refuses an after that is not an id", async () => {
    const answer = await t.call("POST", "/view", { body: { after: "nope" } });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toMatch(/after/);
  });
});
