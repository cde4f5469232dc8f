import { MAX_FREE_KEYS } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { MAX_BODY_KEYS } from "../src/http/body.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const keys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

const message = (body: unknown) => (body as { error: { message: string } }).error.message;

describe("keys per request", () => {
  it("a work's parameters hold up to MAX_FREE_KEYS keys; one more is a 400 naming the limit", async () => {
    const fits = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ parameters: keys(MAX_FREE_KEYS) })],
    });
    expect(fits.status).toBe(200);
    const over = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ parameters: { nested: keys(MAX_FREE_KEYS + 1) } })],
    });
    expect(over.status).toBe(400);
    expect(message(over.body)).toContain(`more than ${MAX_FREE_KEYS} keys`);
    expect(message(over.body)).toContain("parameters");
  });

  it("a body past MAX_BODY_KEYS keys is a 413 before it is parsed, and the service goes on", async () => {
    // Keys in strings are not counted: a colon inside a value is text.
    const body = [aWork({ parameters: { text: 'a:"b\\":c' } })];
    expect((await t.call("POST", "/work", { token: t.tokens.alice, body })).status).toBe(200);
    const many = Array.from({ length: 21 }, () => aWork({ parameters: keys(MAX_BODY_KEYS / 20) }));
    const over = await t.call("POST", "/work", { token: t.tokens.alice, body: many });
    expect(over.status).toBe(413);
    expect(message(over.body)).toContain(`more than ${MAX_BODY_KEYS} keys (MAX_BODY_KEYS)`);
    expect((await t.call("GET", "/status")).status).toBe(200);
  });
});
