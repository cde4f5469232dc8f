import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

/**
 * A run's params are data: a param whose value reads like `${{ ... }}` is written into its works as
 * that text, even where the field is filled again when the step is released (from its needs).
 */

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
});
afterAll(async () => {
  await t.close();
});

const unique = (base: string) => `${base}-${new ObjectId().toHexString().slice(-8)}`;
const withdraw = async (pipeline: string) =>
  (await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline } }))
    .body as Claimed | null;
const succeed = (w: Claimed, results: Record<string, unknown>) =>
  t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id: w.id, attempt: w.attempt, status: "success", results }],
  });

const LITERAL = "${{ needs.first.results.secret }}";
const config = (name: string) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  params: { x: "default" },
  pipeline: {
    steps: [
      { name: "first", work: { command: ["first"], parameters: { x: "${{ params.x }}" } } },
      {
        name: "second",
        needs: ["first"],
        work: {
          command: ["second", "${{ params.x }}"],
          parameters: { x: "${{ params.x }}", v: "${{ needs.first.results.v }}" },
        },
      },
    ],
  },
});

describe("a param that reads like an expression", () => {
  it("is written into every work as the text it is, also where needs fill the work", async () => {
    const name = unique("literal");
    const started = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: config(name), params: { x: LITERAL } },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const first = (await withdraw(name)) as Claimed;
    expect(first.parameters).toEqual({ x: LITERAL });
    await succeed(first, { v: 1, secret: "read-from-elsewhere" });
    const second = (await withdraw(name)) as Claimed & { command: string[] };
    expect(second.parameters).toEqual({ x: LITERAL, v: 1 });
    expect(second.command).toEqual(["second", LITERAL]);
  });
});
