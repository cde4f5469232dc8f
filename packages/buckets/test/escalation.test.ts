import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { mintToken } from "../src/index.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

async function mint(token: string, body: Record<string, unknown>) {
  const got = await t.call("POST", "/tokens", { token, body });
  const minted = (got.body as { token?: string }).token;
  const claims = minted ? (jwt.decode(minted) as Record<string, unknown>) : undefined;
  return { status: got.status, body: got.body, token: minted, claims };
}

/** A reader's token for eve, minted by `token`, that expires as `expiresIn` says (unasked unless given). */
const mintReader = (token: string, expiresIn?: string) =>
  mint(token, { user: "eve", scopes: ["work:read"], ...(expiresIn ? { expiresIn } : {}) });

describe("POST /tokens mints nothing wider than the token asking", () => {
  it("a pipeline-limited admin mints only within its pipelines", async () => {
    const limited = t.token("ops-fit", ["admin"], ["fit"]);
    const unrestricted = await mint(limited, { user: "eve", scopes: ["admin"] });
    expect(unrestricted.status).toBe(403);
    expect(JSON.stringify(unrestricted.body)).toContain("limited to pipelines fit");
    const elsewhere = await mint(limited, {
      user: "eve",
      scopes: ["admin"],
      pipelines: ["fit", "other"],
    });
    expect(elsewhere.status).toBe(403);
    expect(JSON.stringify(elsewhere.body)).toContain("not other");

    const within = await mint(limited, { user: "eve", scopes: ["admin"], pipelines: ["fit"] });
    expect(within.status).toBe(200);
    expect(within.claims).toMatchObject({ sub: "eve", scopes: ["admin"], pipelines: ["fit"] });
    // And the minted token is held to its pipelines.
    await t.call("POST", "/work", { body: [aWork({ pipeline: "other" })] });
    const seen = await t.call("GET", "/status/pipelines", { token: within.token as string });
    expect(seen.body).not.toContain("other");
  });

  it("a token that expires mints only tokens that expire no later", async () => {
    const caller = mintToken(t.service.keys, { user: "ops", scopes: ["admin"], expiresIn: "1h" });
    const callerExp = (jwt.decode(caller) as { exp: number }).exp;
    for (const expiresIn of ["never", "30d", "2h"]) {
      const got = await mintReader(caller, expiresIn);
      expect(got.status, expiresIn).toBe(403);
      expect(JSON.stringify(got.body)).toContain("expires at");
    }
    const shorter = await mintReader(caller, "30m");
    expect(shorter.status).toBe(200);
    expect(Number(shorter.claims?.exp)).toBeLessThanOrEqual(callerExp);
    // Unasked, the default lifetime is cut to what is left of the caller's.
    const unasked = await mintReader(caller);
    expect(unasked.status).toBe(200);
    expect(Number(unasked.claims?.exp)).toBeLessThanOrEqual(callerExp);
  });

  it("a token that never expires mints 30-day tokens unless told otherwise, and `never` on request", async () => {
    const before = now();
    const unasked = await mintReader(t.tokens.admin);
    expect(Number(unasked.claims?.exp)).toBeGreaterThanOrEqual(before + 30 * DAY);
    expect(Number(unasked.claims?.exp)).toBeLessThanOrEqual(now() + 30 * DAY);
    const never = await mintReader(t.tokens.admin, "never");
    expect(never.status).toBe(200);
    expect(never.claims).not.toHaveProperty("exp");
    const bad = await mintReader(t.tokens.admin, "soon");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("never");
    const ages = await mintReader(t.tokens.admin, "9999999999y");
    expect(ages.status).toBe(400);
    expect(JSON.stringify(ages.body)).toContain("100 years");
  });

  it("only admins mint, and they may grant the metrics scope", async () => {
    const reader = t.token("carol", ["work:read", "work:deposit", "work:withdraw"]);
    expect((await mint(reader, { user: "carol", scopes: ["work:read"] })).status).toBe(403);
    const prometheus = await mint(t.tokens.admin, { user: "prometheus", scopes: ["metrics"] });
    expect(prometheus.claims).toMatchObject({ scopes: ["metrics"] });
  });
});
