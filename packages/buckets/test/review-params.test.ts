import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

/** Review of typed params: a value is the number it says, or refused naming it. */

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
});
afterAll(async () => {
  await t.close();
});

const config = (name: string) => ({
  version: "2",
  name: `${name}-${new ObjectId().toHexString().slice(-8)}`,
  defaults: { site: "local" },
  params: { n: { type: "int", default: 3 } },
  pipeline: {
    steps: [{ name: "fit", work: { command: ["true"], parameters: { n: "${{ params.n }}" } } }],
  },
});

describe("an int param given as text", () => {
  it.each([
    ["400 nines", "9".repeat(400)],
    ["past 2^53", "12345678901234567890"],
  ])("refuses one it cannot hold (%s) rather than storing another number", async (_, value) => {
    const answer = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: config("int"), params: { n: value } },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(JSON.stringify(answer.body)).toContain("params.n");
  });

  it("takes a whole number it can hold exactly", async () => {
    const answer = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: config("int-ok"), params: { n: "-42" } },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
  });
});
