import type { Slack } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeSlack, startFakeSlack } from "../support/slack.js";
import { type Stack, startStack } from "../support/stack.js";
import { depositAll, freshPipeline } from "../support/works.js";

/** A worker's Slack notifications against a fake Slack: what it posts, when, and what it keeps. */

let stack: Stack;
let slack: FakeSlack;

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  slack = await startFakeSlack();
  slack.answer = () => ({ status: 200, body: { ok: true } });
});
afterEach(() => {
  slack.reset();
  slack.answer = () => ({ status: 200, body: { ok: true } });
});
afterAll(async () => {
  await slack?.close();
  await stack?.close();
});

/** One work of a pipeline of its own, as the admin, that asks Slack for `ask`; answers both. */
async function depositNotifying(ask: Partial<Slack>) {
  const pipeline = freshPipeline("slack");
  const [id] = await depositAll(stack, pipeline, [
    { site: "chime", command: ["echo", "done"], notify: { slack: ask } },
  ]);
  return { id: id as string, pipeline };
}

/** A worker in this process, speaking to the fake Slack, for the one work of `pipeline`. */
async function workOnce(pipeline: string, client = stack.client()) {
  const worker = startWorker({
    pipelines: [pipeline],
    client,
    lives: 1,
    wait: 2,
    logger: createLogger("silent"),
    env: { WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-test", WORKFLOW_NOTIFY_SLACK_API_URL: slack.url },
  });
  await worker.done;
}

/** A work that asks Slack for `ask`, run; answers it as stored after. */
async function run(ask: Partial<Slack>) {
  const { id, pipeline } = await depositNotifying(ask);
  await workOnce(pipeline);
  const [work] = await stack.client().view({ id });
  return { id, pipeline, work };
}

describe("Slack notifications", () => {
  it("posts to the channel what ran, its id and status, and keeps Slack's reply", async () => {
    slack.answer = () => ({ status: 200, body: { ok: true, channel: "C1", ts: "123.456" } });
    const { id, pipeline, work } = await run({ channel_id: "C1", results: true });
    const post = slack.calls.find((c) => c.method === "chat.postMessage");
    expect(post?.body.channel).toBe("C1");
    for (const text of [JSON.stringify(post?.body.text), JSON.stringify(post?.body.blocks)]) {
      expect(text).toContain(pipeline);
      expect(text).toContain(id);
      expect(text).toContain("success");
    }
    expect(JSON.stringify(post?.body.blocks)).toContain("Results");
    expect(work).toMatchObject({
      status: "success",
      notify: { slack: { channel_id: "C1", reply: { ok: true, channel: "C1", ts: "123.456" } } },
    });
  });

  it("posts while the worker holds the attempt, then records outcome and reply in one PUT, with a worker's own token", async () => {
    const admin = stack.client();
    const { id, pipeline } = await depositNotifying({ channel_id: "C2" });
    const seen: (string | undefined)[] = [];
    slack.onCall = async () => {
      seen.push((await admin.view({ id }))[0]?.status);
    };
    slack.answer = () => ({ status: 200, body: { ok: true, channel: "C2", ts: "7.8" } });
    const client = stack.client({ user: "node", scopes: ["work:withdraw"] });
    // What the worker sends to PUT /work, on its way to the real service.
    const sent: unknown[][] = [];
    const update = client.update.bind(client);
    client.update = (works) => {
      sent.push(works);
      return update(works);
    };
    await workOnce(pipeline, client);
    // Slack heard while the worker held the attempt; outcome and reply went in its one PUT.
    expect(seen).toEqual(["running"]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject([
      { id, status: "success", notify: { slack: { reply: { ok: true, ts: "7.8" } } } },
    ]);
    const [work] = await admin.view({ id });
    expect(work).toMatchObject({
      status: "success",
      notify: { slack: { channel_id: "C2", reply: { ok: true, channel: "C2", ts: "7.8" } } },
    });
  });

  it("sends direct messages to member_ids: conversations.open, then a post", async () => {
    slack.answer = (method) =>
      method === "conversations.open"
        ? { status: 200, body: { ok: true, channel: { id: "D9" } } }
        : { status: 200, body: { ok: true, channel: "D9", ts: "1.2" } };
    await run({ member_ids: ["U1"] });
    expect(slack.calls.map((c) => c.method)).toEqual(["conversations.open", "chat.postMessage"]);
    expect(slack.calls[0]?.body.users).toBe("U1");
    expect(slack.calls[1]?.body.channel).toBe("D9");
  });

  it("Slack answering 500 does not fail the work", { timeout: 30_000 }, async () => {
    slack.answer = () => ({ status: 500, body: { ok: false } });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(work?.status).toBe("success");
    expect(work?.notify?.slack?.reply).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("Slack rate-limiting does not fail the work, nor hold it", { timeout: 30_000 }, async () => {
    slack.answer = () => ({
      status: 429,
      body: { ok: false, error: "ratelimited" },
      headers: { "retry-after": "30" },
    });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(work?.status).toBe("success");
    expect(slack.calls.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("a work that does not ask for Slack sends nothing", async () => {
    await run({});
    expect(slack.calls).toEqual([]);
  });
});
