import type { CommandStartedEvent } from "mongodb";
import { describe, expect, it } from "vitest";
import { eventually } from "../../../test/support/eventually.js";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const longPoll = (pipeline: string, wait: number) =>
  t.call("POST", `/work/withdraw?wait=${wait}`, { token: t.tokens.worker, body: { pipeline } });

describe("long-poll withdraw, single node", () => {
  it("answers within 1 s of a matching deposit", async () => {
    const waiting = longPoll("soon", 10);
    await eventually(async () => (t.service.dispatcher.waiting === 1 ? true : undefined));
    const deposited = Date.now();
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline: "soon" })] });
    const got = await waiting;
    const latency = Date.now() - deposited;
    console.log(`long-poll latency, single node: ${latency} ms`);
    expect(got.body).toMatchObject({ pipeline: "soon", status: "running", attempt: 1 });
    expect(latency).toBeLessThan(1_000);
  });

  it("answers null after its wait when nothing comes", async () => {
    const started = Date.now();
    const got = await longPoll("never", 1);
    expect(got).toMatchObject({ status: 200, body: null });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("50 waiting withdraws share one watcher: the MongoDB commands do not multiply", {
    timeout: 30_000,
  }, async () => {
    const commands: string[] = [];
    const count = (event: CommandStartedEvent) => {
      if (["find", "findAndModify", "update", "aggregate", "count"].includes(event.commandName))
        commands.push(event.commandName);
    };
    const client = t.service.database.client;
    // A wait well past the 3.5 s watched: on a loaded machine the deposit below may come late, and
    // a wait that lapsed first would answer null.
    const waiting = Array.from({ length: 50 }, () => longPoll("quiet", 20));
    // Each made its one first claim, and waits.
    await eventually(async () => (t.service.dispatcher.waiting === 50 ? true : undefined));
    client.on("commandStarted", count);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    client.off("commandStarted", count);
    console.log(`50 waiting withdraws, 3 s: ${commands.length} MongoDB commands`);
    // One recheck a second for their one shared filter, not 50 per second.
    expect(commands.length).toBeLessThanOrEqual(6);
    expect(t.service.dispatcher.waiting).toBe(50);
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: Array.from({ length: 50 }, () => aWork({ pipeline: "quiet" })),
    });
    const answers = await Promise.all(waiting);
    expect(new Set(answers.map((a) => (a.body as { id: string }).id)).size).toBe(50);
  });
});
