import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLAIM_HEADER } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderErrorCodes } from "../src/index.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * Each cause answers its own code, at the status it always had (CHIME's client branches on
 * statuses, this project's client and worker on codes), and the README shows the registry.
 */

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
});
afterAll(async () => {
  await t?.close();
});

const errorOf = (answer: { status: number; body: unknown }) => ({
  status: answer.status,
  code: (answer.body as { error?: { code?: string } }).error?.code,
});

async function claimed(pipeline: string) {
  await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
  const answer = await t.call("POST", "/work/withdraw?lease=30", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  return answer.body as { id: string; attempt: number; claim: string };
}

const heartbeat = (work: { id: string; claim: string }, token = t.tokens.worker) =>
  t.call("POST", `/work/${work.id}/heartbeat?attempt=1`, {
    token,
    headers: { [CLAIM_HEADER]: work.claim },
  });

describe("error codes", () => {
  it("name what is wrong with the token: missing, invalid, lacking a scope or a pipeline", async () => {
    expect(errorOf(await t.call("GET", "/status", { token: null }))).toEqual({
      status: 401,
      code: "token_missing",
    });
    expect(errorOf(await t.call("GET", "/status", { token: "not.a.jwt" }))).toEqual({
      status: 401,
      code: "token_invalid",
    });
    const withdraw = await t.call("POST", "/work/withdraw", {
      token: t.tokens.alice,
      body: { pipeline: "codes" },
    });
    expect(errorOf(withdraw)).toEqual({ status: 403, code: "scope_missing" });
    const narrow = t.token("alice", ["work:deposit"], ["mine"]);
    const outside = await t.call("POST", "/work", {
      token: narrow,
      body: [aWork({ pipeline: "theirs" })],
    });
    expect(errorOf(outside)).toEqual({ status: 403, code: "pipeline_refused" });
  });

  it("tell a worker why an attempt is not its own: another's claim, moved on, gone", async () => {
    const work = await claimed("codes-attempt");
    const other = t.token("node-b", ["work:withdraw"]);
    expect(errorOf(await heartbeat(work, other))).toEqual({ status: 403, code: "claim_lost" });
    const released = await t.call("POST", `/work/${work.id}/release?attempt=1`, {
      token: t.tokens.worker,
      headers: { [CLAIM_HEADER]: work.claim },
    });
    expect(released.status).toBe(200);
    expect(errorOf(await heartbeat(work))).toEqual({ status: 409, code: "attempt_stale" });
    await t.call("DELETE", `/work?ids=${work.id}`);
    expect(errorOf(await heartbeat(work))).toEqual({ status: 404, code: "not_found" });
  });

  it("a PUT refused for causes of two families is a 409 naming each item's code", async () => {
    const work = await claimed("codes-mixed");
    const moved = await claimed("codes-mixed-moved");
    const [kept] = (
      await t.call("POST", "/work?return_ids=true", {
        token: t.tokens.alice,
        body: [aWork({ pipeline: "codes-mixed-2" })],
      })
    ).body as string[];
    const answer = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [
        { id: work.id, attempt: 1, claim: work.claim, status: "success" },
        { id: moved.id, attempt: 9, status: "success" },
        { id: kept, user: "mallory" },
      ],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(409);
    expect(answer.body).toMatchObject({
      error: {
        code: "conflict",
        details: {
          recorded: 1,
          refused: [
            { index: 1, code: "attempt_stale" },
            { index: 2, code: "field_refused" },
          ],
        },
      },
    });
  });

  it("an unknown route is no_route, at 404", async () => {
    expect(errorOf(await t.call("GET", "/no/such/route"))).toEqual({
      status: 404,
      code: "no_route",
    });
  });

  it("the registry is the table the package README shows", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    // Compared cell by cell: the formatter pads the README's table.
    const rows = (text: string) =>
      text
        .split("\n")
        .filter((line) => line.startsWith("|") && !/^\|[\s|-]+\|$/.test(line))
        .map((line) => line.split("|").map((cell) => cell.trim()));
    const table = rows(renderErrorCodes());
    const shown = rows(readme);
    const start = shown.findIndex((row) => row.join("|") === table[0]?.join("|"));
    expect(start, "README lacks the error codes table").toBeGreaterThanOrEqual(0);
    expect(shown.slice(start, start + table.length)).toEqual(table);
  });
});
