import jwt from "jsonwebtoken";
import { expect, it } from "vitest";
import { workerProcess } from "../support/processes.js";
import { TEST_SECRET, useStack } from "../support/stack.js";

/**
 * A worker whose token the service refuses says so in one line and exits 1, however many slots
 * it has, rather than retrying for ever with a stack trace per slot.
 */

const { stack, owned } = useStack(import.meta.filename);

async function runWith(
  token: string,
  extra: string[] = [],
): Promise<{ code: number | null; lines: string[] }> {
  const worker = workerProcess(
    ["auth", "--url", stack.url, "--concurrency", "4", "--sleep", "0.1", ...extra],
    { WORKFLOW_TOKEN: token, LOG_LEVEL: "info" },
  );
  owned.push(worker);
  const code = await worker.exited;
  return { code, lines: worker.output().trim().split("\n") };
}

it.each([
  [
    "signed with another key",
    () => jwt.sign({ sub: "cli", scopes: ["work:withdraw"] }, "not-the-service-secret-0123456789"),
  ],
  [
    "expired",
    () =>
      jwt.sign(
        { sub: "cli", scopes: ["work:withdraw"], exp: Math.floor(Date.now() / 1000) - 60 },
        TEST_SECRET,
      ),
  ],
  ["not a token at all", () => "garbage"],
])("a token %s: one line naming the token, exit 1", { timeout: 30_000 }, async (_kind, token) => {
  const { code, lines } = await runWith(token());
  expect(code).toBe(1);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/refused this worker's token/);
  expect(lines[0]).toMatch(/--token or WORKFLOW_HTTP_TOKEN/);
  expect(lines[0]).not.toMatch(/at .*\.js:\d+/);
});

it("a token without the work:withdraw scope: one line naming the scope, exit 1", {
  timeout: 30_000,
}, async () => {
  const { code, lines } = await runWith(stack.token("cli", ["work:deposit"]));
  expect(code).toBe(1);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/may not serve pipelines auth/);
  expect(lines[0]).toMatch(/work:withdraw/);
});

it("a token that is accepted keeps the worker running, and it says it connected", {
  timeout: 30_000,
}, async () => {
  const worker = workerProcess(["auth", "--url", stack.url, "--lives", "1", "--sleep", "0.1"], {
    WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]),
    LOG_LEVEL: "info",
  });
  owned.push(worker);
  await stack
    .client()
    .deposit([{ pipeline: "auth", site: "local", user: "admin", command: ["true"] }]);
  expect(await worker.exited).toBe(0);
  const said = worker.output();
  expect(said).toContain("connected to the service");
  expect(said).toContain(stack.url);
});
