import { expect } from "vitest";
import { aWork, type TestService } from "./service.js";

/** One work's way through the API, as the service tests take it: deposited, read, claimed. */

/** A deposit of one work (`aWork` with `overrides`), as alice unless told; answers its id. */
export async function depositWork(
  t: TestService,
  overrides: Record<string, unknown> = {},
  token = t.tokens.alice,
): Promise<string> {
  const answer = await t.call("POST", "/work?return_ids=true", { token, body: [aWork(overrides)] });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return (answer.body as string[])[0] as string;
}

/** The work of `id` as the admin reads it in /view. */
export async function viewWork<W>(t: TestService, id: string): Promise<W> {
  return ((await t.call("POST", "/view", { body: { query: { id } } })).body as W[])[0] as W;
}

/** A work of alice's in a pipeline of its own (`prefix-n`), claimed by the worker as attempt 1. */
export async function claimedWork(
  t: TestService,
  prefix: string,
): Promise<{ id: string; pipeline: string }> {
  const pipeline = `${prefix}-${++claims}`;
  const id = await depositWork(t, { pipeline });
  const claimed = await t.call("POST", "/work/withdraw?lease=60", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  expect(claimed.body).toMatchObject({ id, attempt: 1, status: "running" });
  return { id, pipeline };
}
let claims = 0;
