import type { CommandStartedEvent } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { databaseName, testDb, uriFor } from "../../../test/support/db.js";
import { MAX_FOLLOWER_BACKLOG_BYTES } from "../src/routes/logs.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/** Log followers: capped per token and overall, and one poll of MongoDB per followed attempt. */

let t: TestService;
const finds: string[] = [];
beforeAll(async () => {
  const { client } = await testDb(import.meta.filename);
  await client.close();
  const uri = new URL(uriFor(databaseName(import.meta.filename)));
  uri.searchParams.set("monitorCommands", "true");
  t = await startTestService(import.meta.filename, {
    MONGODB_URI: uri.toString(),
    BUCKETS_REAP_SECONDS: "3600",
    BUCKETS_MAX_LOG_FOLLOWERS: "12",
    BUCKETS_MAX_LOG_FOLLOWERS_PER_TOKEN: "10",
  });
  t.service.database.client.on("commandStarted", (event: CommandStartedEvent) => {
    if (event.commandName === "find" && event.command.find === "logs") finds.push("logs");
  });
});
afterAll(() => t?.close());

let serial = 0;
async function running(): Promise<string> {
  const pipeline = `follow-${++serial}`;
  const deposited = await t.call("POST", "/work?return_ids=true", {
    token: t.tokens.alice,
    body: [aWork({ pipeline })],
  });
  const id = (deposited.body as string[])[0] as string;
  expect(
    (
      await t.call("POST", "/work/withdraw?lease=60", {
        token: t.tokens.worker,
        body: { pipeline },
      })
    ).status,
  ).toBe(200);
  return id;
}

const append = (id: string, text: string) =>
  t.call("POST", `/work/${id}/logs?attempt=1`, {
    token: t.tokens.worker,
    body: { lines: [{ t: 1, stream: "stdout", text }] },
  });

interface Follower {
  status: number;
  headers: Headers;
  until(text: string): Promise<void>;
  stop(): void;
}

async function follow(id: string, token: string): Promise<Follower> {
  const abort = new AbortController();
  const response = await fetch(`${t.url}/work/${id}/logs?follow=true`, {
    headers: { authorization: `Bearer ${token}` },
    signal: abort.signal,
  });
  let seen = "";
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  return {
    status: response.status,
    headers: response.headers,
    // Waits for `text` and consumes what came up to it: a long stream is searched once.
    async until(text) {
      let from = 0;
      for (;;) {
        const at = seen.indexOf(text, from);
        if (at >= 0) {
          seen = seen.slice(at + text.length);
          return;
        }
        from = Math.max(0, seen.length - text.length);
        const chunk = await reader?.read();
        if (!chunk || chunk.done) throw new Error(`ended before ${text}: ${seen.slice(-2000)}`);
        seen += decoder.decode(chunk.value, { stream: true });
      }
    },
    stop: () => abort.abort(),
  };
}

describe("log followers", () => {
  it("ten followers of one attempt are served by one poll, not ten", async () => {
    const id = await running();
    await append(id, "first");
    const followers: Follower[] = [];
    for (let i = 0; i < 10; i++) followers.push(await follow(id, t.tokens.alice));
    await Promise.all(followers.map((f) => f.until('"text":"first"')));
    finds.length = 0;
    expect((await append(id, "second")).status).toBe(200);
    await Promise.all(followers.map((f) => f.until('"text":"second"')));
    // The append reads its batches once; each poll reads once; ten polls would be ten or more.
    expect(finds.length).toBeLessThanOrEqual(4);
    // The attempt's end ends every follow, and the service lets go of them before it says so.
    await finish(id);
    await Promise.all(followers.map((f) => f.until("event: end")));
  });

  it("past the per-token bound a follow is a 429, past the overall bound a 503, each with Retry-After", async () => {
    const id = await running();
    const mine: Follower[] = [];
    for (let i = 0; i < 10; i++) {
      const f = await follow(id, t.tokens.alice);
      expect(f.status).toBe(200);
      mine.push(f);
    }
    let over = await follow(id, t.tokens.alice);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
    const bobs = [await follow(id, t.tokens.bob), await follow(id, t.tokens.bob)];
    expect(bobs.map((f) => f.status)).toEqual([200, 200]);
    over = await follow(id, t.tokens.bob);
    expect(over.status).toBe(503);
    expect(over.headers.get("retry-after")).toMatch(/^\d+$/);
    // One gone, one more may come.
    mine[0]?.stop();
    await until(async () => {
      const again = await follow(id, t.tokens.alice);
      if (again.status === 200) mine.push(again);
      return again.status === 200;
    });
    await finish(id);
    await Promise.all([...mine.slice(1), ...bobs].map((f) => f.until("event: end")));
  });
});

describe("a follower that stops reading", () => {
  it("is let go with an error event once it falls behind; one that reads gets every line", {
    timeout: 90_000,
  }, async () => {
    const id = await running();
    await append(id, "first");
    const slow = await follow(id, t.tokens.bob);
    const reading = await follow(id, t.tokens.bob);
    await reading.until('"text":"first"');
    // Each batch about 1.6 MB on the wire, each taken by a poll of its own: far more than the
    // backlog allowed and what the sockets between hold.
    const text = "x".repeat(96);
    for (let batch = 0; batch < 16; batch++) {
      const lines = Array.from({ length: 9_999 }, () => ({ t: 1, stream: "stdout", text }));
      lines.push({ t: 1, stream: "stdout", text: `batch-${batch}` });
      const appended = await t.call("POST", `/work/${id}/logs?attempt=1`, {
        token: t.tokens.worker,
        body: { lines },
      });
      expect(appended.status).toBe(200);
      await reading.until(`"text":"batch-${batch}"`);
    }
    await finish(id);
    await reading.until("event: end");
    // Only now does the slow one read: what it was sent, then why it was let go, and no end.
    await slow.until('"text":"first"');
    await slow.until("event: error");
    const mb = MAX_FOLLOWER_BACKLOG_BYTES / 2 ** 20;
    await slow.until(`fell more than ${mb} MB behind the attempt's output; follow again`);
    await expect(slow.until('"text":"batch-15"')).rejects.toThrow(/ended before/);
  });
});

async function finish(id: string): Promise<void> {
  const answer = await t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id, attempt: 1, status: "success" }],
  });
  expect(answer.status).toBe(200);
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 50));
}
