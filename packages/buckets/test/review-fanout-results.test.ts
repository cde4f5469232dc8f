import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

/** Review of #28: a parent's results become a grown step's data, never its expressions. */

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };
type Run = { status: string };

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

const config = (name: string) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  pipeline: {
    steps: [
      { name: "split", work: { command: ["split"] } },
      {
        name: "process",
        needs: ["split"],
        "max-parallel": 1,
        matrix: { part: "${{ needs.split.results.parts }}" },
        work: {
          command: ["process", "${{ matrix.part }}"],
          parameters: { p: "${{ matrix.part }}" },
        },
      },
    ],
  },
});

describe("a matrix made from a parent's results", () => {
  it("never reads a result that looks like an expression as one", async () => {
    const name = unique("inject");
    const started = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: config(name) },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    const { id } = started.body as { id: string };
    const split = (await withdraw(name)) as Claimed;
    const parts = ["${{ needs.split.results.secret }}", "plain"];
    await succeed(split, { parts, secret: "read-from-elsewhere" });
    const seen: unknown[] = [];
    for (let w = await withdraw(name); w; w = await withdraw(name)) {
      seen.push(w.parameters?.p);
      await succeed(w, {});
    }
    const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as Run;
    // The second work waited its turn (max-parallel 1): it too is given the data as it was.
    expect(seen).toEqual(parts);
    expect(run.status).toBe("success");
  });
});
