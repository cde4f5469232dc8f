import { CLAIM_HEADER } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * A claim belongs to the worker that made it: another worker token cannot report, heartbeat,
 * release or write logs for it, and a worker that sends its claim secret is held to it.
 */

interface Claimed {
  id: string;
  attempt: number;
  status: string;
  claim?: string;
  results?: Record<string, unknown>;
}

let t: TestService;
let honest: string;
let hostile: string;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  honest = t.token("node-a", ["work:withdraw", "work:read"]);
  hostile = t.token("node-b", ["work:withdraw", "work:read"]);
});
afterAll(async () => {
  await t.close();
});

const deposit = async (pipeline: string, overrides: Record<string, unknown> = {}) =>
  (
    (
      await t.call("POST", "/work?return_ids=true", {
        token: t.tokens.alice,
        body: [aWork({ pipeline, ...overrides })],
      })
    ).body as string[]
  )[0] as string;

const withdraw = async (pipeline: string, token = honest, query = "?lease=30") =>
  (await t.call("POST", `/work/withdraw${query}`, { token, body: { pipeline } })).body as Claimed;

const stored = async (id: string) =>
  ((await t.call("POST", "/view", { body: { query: { id } } })).body as Claimed[])[0] as Claimed;

describe("a claim belongs to its claimer", () => {
  it("withdraw answers a claim secret that no read shows", async () => {
    const id = await deposit("secret-shown");
    const work = await withdraw("secret-shown");
    expect(work).toMatchObject({ id, attempt: 1, status: "running" });
    expect(work.claim).toMatch(/^[0-9a-f]{32}$/);
    expect(JSON.stringify(await stored(id))).not.toContain(work.claim);
    const shown = await t.call("GET", `/work/${id}`);
    expect(JSON.stringify(shown.body)).not.toContain(work.claim);
    expect(shown.body).not.toHaveProperty("claim");
  });

  it("another worker token cannot report the outcome, with or without the attempt", async () => {
    const id = await deposit("forged-outcome");
    const work = await withdraw("forged-outcome");
    const forged = { status: "success", results: { command: ["rm", "-rf", "/"] } };
    for (const item of [
      { id, ...forged },
      { id, attempt: 1, ...forged },
    ]) {
      const refused = await t.call("PUT", "/work", { token: hostile, body: [item] });
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).toContain("claimed by another worker");
    }
    expect(await stored(id)).toMatchObject({ status: "running", attempt: 1 });
    expect((await stored(id)).results).toBeUndefined();

    // The real worker's heartbeat and outcome still land.
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: honest,
      headers: { [CLAIM_HEADER]: work.claim as string },
    });
    expect(beat).toMatchObject({ status: 200, body: { cancel: false } });
    const ok = await t.call("PUT", "/work", {
      token: honest,
      body: [{ id, attempt: 1, claim: work.claim, status: "success", results: { n: 1 } }],
    });
    expect(ok.status).toBe(200);
    expect(await stored(id)).toMatchObject({ status: "success", results: { n: 1 } });
  });

  it("another worker token cannot heartbeat, release or write logs", async () => {
    const id = await deposit("forged-life");
    await withdraw("forged-life");
    const calls = [
      ["POST", `/work/${id}/heartbeat?attempt=1`, undefined],
      ["POST", `/work/${id}/release?attempt=1`, undefined],
      ["POST", `/work/${id}/logs?attempt=1`, { lines: [{ t: 1, stream: "stdout", text: "x" }] }],
    ] as const;
    for (const [method, path, body] of calls) {
      const refused = await t.call(method, path, { token: hostile, body });
      expect(refused.status, path).toBe(403);
      expect(JSON.stringify(refused.body)).toContain("claimed by another worker");
    }
    expect(await stored(id)).toMatchObject({ status: "running", attempt: 1 });
    const logs = await t.call("GET", `/work/${id}/logs?format=json`);
    expect((logs.body as { lines: unknown[] }).lines).toEqual([]);
  });

  it("a wrong claim secret is refused even with the claimer's own token", async () => {
    const id = await deposit("wrong-secret");
    const work = await withdraw("wrong-secret");
    const wrong = "0".repeat(32);
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: honest,
      headers: { [CLAIM_HEADER]: wrong },
    });
    expect(beat.status).toBe(403);
    const put = await t.call("PUT", "/work", {
      token: honest,
      body: [{ id, attempt: 1, claim: wrong, status: "success" }],
    });
    expect(put.status).toBe(403);
    expect(await stored(id)).toMatchObject({ status: "running" });
    const right = await t.call("POST", `/work/${id}/release?attempt=1`, {
      token: honest,
      headers: { [CLAIM_HEADER]: work.claim as string },
    });
    expect(right.status).toBe(200);
    expect(await stored(id)).toMatchObject({ status: "queued" });
  });

  it("a client that sends no secret (CHIME's) is bound to its token's subject", async () => {
    const id = await deposit("chime-style", { retries: 0 });
    // CHIME withdraws without a lease and sends the whole work back, with the same token.
    const work = await withdraw("chime-style", honest, "");
    const { claim: _claim, ...sentBack } = { ...work, status: "success", results: { ok: true } };
    const ok = await t.call("PUT", "/work", { token: honest, body: [sentBack] });
    expect(ok.status).toBe(200);
    expect(await stored(id)).toMatchObject({ status: "success", results: { ok: true } });
  });

  it("a cancelled work's own worker reports late, once; no other token can", async () => {
    const id = await deposit("late");
    const work = await withdraw("late");
    expect((await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      200,
    );
    const beat = await t.call("POST", `/work/${id}/heartbeat?attempt=1`, {
      token: honest,
      headers: { [CLAIM_HEADER]: work.claim as string },
    });
    expect(beat.body).toEqual({ cancel: true });

    const late = (results: object, stop: number) => ({
      id,
      attempt: 1,
      claim: work.claim,
      status: "cancelled",
      stop,
      results,
    });
    const forged = await t.call("PUT", "/work", {
      token: hostile,
      body: [{ ...late({ forged: true }, 10), claim: undefined }],
    });
    expect(forged.status).toBe(403);

    const stop = Date.now() / 1000;
    const first = await t.call("PUT", "/work", {
      token: honest,
      body: [late({ error: "cancelled", partial: 1 }, stop)],
    });
    expect(first.status).toBe(200);
    expect(await stored(id)).toMatchObject({
      status: "cancelled",
      results: { error: "cancelled", partial: 1 },
    });
    // The same report again (its answer was lost) is harmless; a different one is refused.
    const again = await t.call("PUT", "/work", {
      token: honest,
      body: [late({ error: "cancelled", partial: 1 }, stop)],
    });
    expect(again.status).toBe(200);
    const other = await t.call("PUT", "/work", {
      token: honest,
      body: [late({ partial: 2 }, stop + 5)],
    });
    expect(other.status).toBe(409);
    expect(JSON.stringify(other.body)).toContain("already reported");
    expect(await stored(id)).toMatchObject({ results: { partial: 1 } });
  });

  it("a late report of a failure or success from the claimer is kept too", async () => {
    const id = await deposit("late-failure");
    const work = await withdraw("late-failure");
    await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice });
    const put = await t.call("PUT", "/work", {
      token: honest,
      body: [{ id, attempt: 1, claim: work.claim, status: "failure", results: { error: "x" } }],
    });
    expect(put.status).toBe(200);
    expect(await stored(id)).toMatchObject({ status: "cancelled", results: { error: "x" } });
  });

  it("an admin token cannot report for a worker either", async () => {
    const id = await deposit("admin-forge");
    await withdraw("admin-forge");
    const refused = await t.call("PUT", "/work", {
      token: t.tokens.admin,
      body: [{ id, attempt: 1, status: "success" }],
    });
    expect(refused.status).toBe(403);
    expect(await stored(id)).toMatchObject({ status: "running" });
  });
});
