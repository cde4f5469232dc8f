import type { CommandStartedEvent } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, testDb, uriFor } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

let t: TestService;
const commands: string[] = [];
beforeAll(async () => {
  const { client } = await testDb(import.meta.filename);
  await client.close();
  // The driver's command monitoring shows every command the service sends to MongoDB.
  const uri = new URL(uriFor(databaseName(import.meta.filename)));
  uri.searchParams.set("monitorCommands", "true");
  t = await startTestService(import.meta.filename, { MONGODB_URI: uri.toString() });
  t.service.database.client.on("commandStarted", (event: CommandStartedEvent) => {
    commands.push(event.commandName);
  });
});
afterAll(() => t?.close());

/** The commands one request sends to MongoDB. */
async function commandsOf(path: string): Promise<number> {
  commands.length = 0;
  const answer = await t.call("GET", path);
  expect(answer.status).toBe(200);
  return commands.length;
}

async function depositTo(pipelines: number, from: number): Promise<void> {
  const works = Array.from({ length: pipelines }, (_, i) => aWork({ pipeline: `p${from + i}` }));
  expect((await t.call("POST", "/work", { token: t.tokens.alice, body: works })).status).toBe(200);
}

describe("the cost of counting", () => {
  it("/status, /activity/counts and /metrics send as many commands for 300 pipelines as for 3", async () => {
    await depositTo(3, 0);
    const few = {
      status: await commandsOf("/status"),
      counts: await commandsOf("/activity/counts"),
      metrics: await commandsOf("/metrics"),
    };
    await depositTo(297, 3);
    const many = {
      status: await commandsOf("/status"),
      counts: await commandsOf("/activity/counts"),
      metrics: await commandsOf("/metrics"),
    };
    expect(many).toEqual(few);
    expect(few).toEqual({ status: 1, counts: 1, metrics: 1 });
    // The answers still count every pipeline.
    const table = (await t.call("GET", "/activity/counts")).body;
    expect(JSON.stringify(table)).toContain('"p299"');
    expect((await t.call("GET", "/status")).body).toMatchObject({ total: 300, queued: 300 });
  });
});
