import { createServer, type IncomingMessage, type Server } from "node:http";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Stack, startStack } from "../support/stack.js";

/** A local stand-in for Slack's Web API: records calls, answers as told. */
interface Call {
  method: string;
  body: Record<string, unknown>;
}
let stack: Stack;
let slack: Server;
let slackUrl: string;
let calls: Call[] = [];
/** Awaited before each answer: lets a test look at the service while Slack is being called. */
let onCall: ((method: string) => Promise<void>) | undefined;
let answer: (method: string) => { status: number; body: object; headers?: Record<string, string> } =
  () => ({ status: 200, body: { ok: true } });

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += chunk;
  if ((req.headers["content-type"] ?? "").includes("json"))
    return JSON.parse(text) as Record<string, unknown>;
  const form = Object.fromEntries(new URLSearchParams(text));
  // The Web API client sends structured arguments (blocks) as JSON strings in a form.
  return Object.fromEntries(
    Object.entries(form).map(([k, v]) => [
      k,
      v.startsWith("[") || v.startsWith("{") ? JSON.parse(v) : v,
    ]),
  );
}

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  slack = createServer(async (req, res) => {
    const method = (req.url ?? "").replace(/^\/api\//, "");
    calls.push({ method, body: await readBody(req) });
    await onCall?.(method);
    const { status, body, headers } = answer(method);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => slack.listen(0, "127.0.0.1", resolve));
  slackUrl = `http://127.0.0.1:${(slack.address() as { port: number }).port}/api/`;
});
afterEach(() => {
  calls = [];
  onCall = undefined;
  answer = () => ({ status: 200, body: { ok: true } });
});
afterAll(async () => {
  await new Promise((resolve) => slack.close(resolve));
  await stack.close();
});

async function run(slackNotify: object, extra: object = {}) {
  const client = stack.client();
  const pipeline = `slack${Math.random().toString(36).slice(2, 8)}`;
  const [id] = await client.deposit(
    [
      {
        pipeline,
        site: "chime",
        user: "admin",
        command: ["echo", "done"],
        notify: { slack: slackNotify },
        ...extra,
      },
    ],
    { returnIds: true },
  );
  const worker = startWorker({
    pipelines: [pipeline],
    client,
    lives: 1,
    wait: 2,
    logger: createLogger("silent"),
    env: { WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-test", WORKFLOW_NOTIFY_SLACK_API_URL: slackUrl },
  });
  await worker.done;
  const [work] = await client.view({ id });
  return { id: id as string, pipeline, work };
}

describe("Slack notifications", () => {
  it("posts to the channel what ran, its id and status, and keeps Slack's reply", async () => {
    answer = () => ({ status: 200, body: { ok: true, channel: "C1", ts: "123.456" } });
    const { id, pipeline, work } = await run({ channel_id: "C1", results: true });
    const post = calls.find((c) => c.method === "chat.postMessage");
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

  it("posts only once the outcome is recorded, then keeps the reply with a worker's own token", async () => {
    const admin = stack.client();
    const pipeline = `slack${Math.random().toString(36).slice(2, 8)}`;
    const [id] = await admin.deposit(
      [
        {
          pipeline,
          site: "chime",
          user: "admin",
          command: ["echo", "done"],
          notify: { slack: { channel_id: "C2" } },
        },
      ],
      { returnIds: true },
    );
    const seen: (string | undefined)[] = [];
    onCall = async () => {
      seen.push((await admin.view({ id }))[0]?.status);
    };
    answer = () => ({ status: 200, body: { ok: true, channel: "C2", ts: "7.8" } });
    const worker = startWorker({
      pipelines: [pipeline],
      client: stack.client({ user: "node", scopes: ["work:withdraw"] }),
      lives: 1,
      wait: 2,
      logger: createLogger("silent"),
      env: { WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-test", WORKFLOW_NOTIFY_SLACK_API_URL: slackUrl },
    });
    await worker.done;
    expect(seen).toEqual(["success"]);
    const [work] = await admin.view({ id });
    expect(work).toMatchObject({
      status: "success",
      notify: { slack: { channel_id: "C2", reply: { ok: true, channel: "C2", ts: "7.8" } } },
    });
  });

  it("sends direct messages to member_ids: conversations.open, then a post", async () => {
    answer = (method) =>
      method === "conversations.open"
        ? { status: 200, body: { ok: true, channel: { id: "D9" } } }
        : { status: 200, body: { ok: true, channel: "D9", ts: "1.2" } };
    await run({ member_ids: ["U1"] });
    expect(calls.map((c) => c.method)).toEqual(["conversations.open", "chat.postMessage"]);
    expect(calls[0]?.body.users).toBe("U1");
    expect(calls[1]?.body.channel).toBe("D9");
  });

  it("Slack answering 500 does not fail the work", { timeout: 30_000 }, async () => {
    answer = () => ({ status: 500, body: { ok: false } });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(work?.status).toBe("success");
    expect(work?.notify?.slack?.reply).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("Slack rate-limiting does not fail the work, nor hold it", { timeout: 30_000 }, async () => {
    answer = () => ({
      status: 429,
      body: { ok: false, error: "ratelimited" },
      headers: { "retry-after": "30" },
    });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(work?.status).toBe("success");
    expect(calls.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("a work that does not ask for Slack sends nothing", async () => {
    await run({});
    expect(calls).toEqual([]);
  });
});
