import { describe, expect, it } from "vitest";
import { runConfig, uniqueName as unique } from "./support/runs.js";
import { useTestService } from "./support/service.js";

/**
 * POST /runs/preview refuses what POST /runs refuses, with the same status and code: also for a
 * step that grows from its needs' results, whose works are made only later.
 */

const { t } = useTestService(import.meta.filename);

const grows = (name: string, work: Record<string, unknown>) =>
  runConfig(name, [
    { name: "split", work: { command: ["split"] } },
    {
      name: "process",
      needs: ["split"],
      matrix: { part: "${{ needs.split.results.parts }}" },
      work: { command: ["process"], parameters: { p: "${{ matrix.part }}" }, ...work },
    },
  ]);
const codeOf = (body: unknown) => (body as { error?: { code?: string } }).error?.code;

async function bothRefuse(token: string, config: unknown, status: number) {
  const started = await t.call("POST", "/runs", { token, body: { config } });
  const previewed = await t.call("POST", "/runs/preview", { token, body: { config } });
  expect(started.status, JSON.stringify(started.body)).toBe(status);
  expect(previewed.status, JSON.stringify(previewed.body)).toBe(status);
  expect(codeOf(previewed.body)).toBe(codeOf(started.body));
}

describe("a preview of a run with a step that grows", () => {
  it("refuses a grown step in a pipeline the token does not hold", async () => {
    const name = unique("preview-scope");
    const token = t.token("alice", ["work:deposit", "work:read"], [name]);
    await bothRefuse(token, grows(name, { pipeline: `${name}-other` }), 403);
  });

  it("refuses a grown step whose works belong to another user", async () => {
    await bothRefuse(t.tokens.alice, grows(unique("preview-user"), { user: "bob" }), 403);
  });

  it("still previews one the token may start", async () => {
    const config = grows(unique("preview-fine"), {});
    const previewed = await t.call("POST", "/runs/preview", {
      token: t.tokens.alice,
      body: { config },
    });
    expect(previewed.status, JSON.stringify(previewed.body)).toBe(200);
  });
});
