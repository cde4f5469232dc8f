import type { CommandStartedEvent } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, testDb, uriFor } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/** What a deposit costs the long-polls waiting: only the filters that could want its works claim. */

let t: TestService;
const claims: string[] = [];
beforeAll(async () => {
  const { client } = await testDb(import.meta.filename);
  await client.close();
  const uri = new URL(uriFor(databaseName(import.meta.filename)));
  uri.searchParams.set("monitorCommands", "true");
  // No unsignalled recheck during the test: every claim counted comes from a signal.
  t = await startTestService(
    import.meta.filename,
    { MONGODB_URI: uri.toString(), BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN: "40" },
    "",
    { recheckMs: 3_600_000 },
  );
  t.service.database.client.on("commandStarted", (event: CommandStartedEvent) => {
    if (event.commandName === "findAndModify" || event.commandName === "aggregate")
      claims.push(String((event.command.query ?? event.command.pipeline?.[0]?.$match)?.pipeline));
  });
});
afterAll(() => t?.close());

const longPoll = (pipeline: string, token = t.tokens.worker, wait = 30) =>
  t.call("POST", `/work/withdraw?wait=${wait}`, { token, body: { pipeline } });

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe("long-poll cost", () => {
  it("a deposit wakes only the waiters of its pipeline: one claim, not one per distinct filter", {
    timeout: 60_000,
  }, async () => {
    const others = Array.from({ length: 30 }, (_, i) => longPoll(`other-${i}`));
    const mine = longPoll("wanted");
    await until(() => t.service.dispatcher.waiting === 31);
    claims.length = 0;
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline: "wanted" })] });
    expect((await mine).body).toMatchObject({ pipeline: "wanted", status: "running" });
    expect(claims).toContain("wanted");
    expect(claims.filter((p) => p.startsWith("other-"))).toEqual([]);
    // The others are still served, each by a deposit of its own.
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: Array.from({ length: 30 }, (_, i) => aWork({ pipeline: `other-${i}` })),
    });
    const answers = await Promise.all(others);
    expect(answers.map((a) => (a.body as { pipeline: string }).pipeline).sort()).toEqual(
      Array.from({ length: 30 }, (_, i) => `other-${i}`).sort(),
    );
  });

  it("one token holds at most BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN distinct filters waiting: past it a 429", {
    timeout: 60_000,
  }, async () => {
    const waiting = Array.from({ length: 40 }, (_, i) => longPoll(`many-${i}`));
    await until(() => t.service.dispatcher.waiting === 40);
    const over = await longPoll("many-40");
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(JSON.stringify(over.body)).toContain("BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN");
    // The same filter again costs nothing more, and another token has its own bound.
    const again = longPoll("many-0");
    const bobs = longPoll("many-40", t.token("worker-2", ["work:withdraw"]));
    await until(() => t.service.dispatcher.waiting === 42);
    // A withdraw that does not wait is never refused.
    expect((await longPoll("many-41", t.tokens.worker, 0)).status).toBe(200);
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [
        ...Array.from({ length: 41 }, (_, i) => aWork({ pipeline: `many-${i}` })),
        aWork({ pipeline: "many-0" }),
      ],
    });
    const answers = await Promise.all([...waiting, again, bobs]);
    expect(answers.every((a) => a.status === 200 && a.body !== null)).toBe(true);
  });
});
