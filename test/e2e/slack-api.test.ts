import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { StoredWork, WorkInput } from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/processes.js";
import { type FakeSlack, startFakeSlack } from "../support/slack.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/** Slack notifications from a real worker, with a local HTTP server playing Slack's Web API. */

let stack: Stack;
const dir = useTempDir("slack-api-");
let slack: FakeSlack;

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  writeFileSync(
    join(dir, "jobs.mjs"),
    `export const image = ({ name }) => ({ results: { name }, products: ["/data/" + name + ".h5"], plots: ["/plots/" + name + ".png"] });`,
  );
  slack = await startFakeSlack();
});

afterEach(() => {
  slack.reset();
});

afterAll(async () => {
  await slack?.close();
  await stack?.close();
});

/** Deposits one work asking for Slack, runs a worker for it, and answers the stored work. */
async function run(
  notify: Record<string, unknown>,
  extra: Partial<WorkInput> = {},
  env: Record<string, string> = {
    WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-test",
    WORKFLOW_NOTIFY_SLACK_API_URL: slack.url,
  },
): Promise<{ id: string; pipeline: string; work: StoredWork }> {
  const client = stack.client();
  const pipeline = `slack-${Math.random().toString(36).slice(2, 8)}`;
  const [id] = await client.deposit(
    [
      {
        pipeline,
        site: "chime",
        user: "admin",
        command: ["echo", "done"],
        notify: { slack: notify },
        ...extra,
      },
    ],
    { returnIds: true },
  );
  const worker = startWorker({
    pipelines: [pipeline],
    client,
    cwd: dir,
    lives: 1,
    wait: 2,
    logger: createLogger("silent"),
    env,
  });
  try {
    await worker.done;
  } finally {
    await worker.stop();
  }
  const work = await eventually(async () => {
    const [w] = await client.view({ id });
    return w && ["success", "failure"].includes(w.status) ? w : undefined;
  }, 10_000);
  return { id: id as string, pipeline, work };
}

const posts = () => slack.calls.filter((c) => c.method === "chat.postMessage");

describe("what Slack receives", () => {
  it("chat.postMessage to the channel, with the pipeline, the id and the status", async () => {
    const { id, pipeline, work } = await run({ channel_id: "C1" });
    expect(posts()).toHaveLength(1);
    const [post] = posts();
    expect(post?.authorization).toBe("Bearer xoxb-test");
    expect(post?.body.channel).toBe("C1");
    for (const part of [post?.body.text, post?.body.blocks]) {
      const text = JSON.stringify(part);
      expect(text).toContain(pipeline);
      expect(text).toContain(id);
      expect(text).toContain("success");
    }
    expect(work.status).toBe("success");
    expect(work.notify?.slack?.reply).toEqual({ ok: true, channel: "C1", ts: "123.456" });
    expect(work.notify?.slack?.channel_id).toBe("C1");
  });

  it("a failure says so, with its results when asked", async () => {
    const { work } = await run(
      { channel_id: "C1", results: true },
      { command: ["sh", "-c", "echo 'bad beam' >&2; exit 3"], retries: 0 },
    );
    expect(work.status).toBe("failure");
    const [post] = posts();
    expect(JSON.stringify(post?.body.text)).toContain("failure");
    const blocks = JSON.stringify(post?.body.blocks);
    expect(blocks).toContain("failure");
    expect(blocks).toContain("bad beam");
    expect(blocks).toContain("exited with code 3");
  });

  it("a failure with a retry ahead posts nothing: only the final failure is news", async () => {
    const { work } = await run(
      { channel_id: "C1" },
      { command: ["sh", "-c", "exit 3"], retries: 1 },
    );
    expect(work).toMatchObject({ status: "failure", attempt: 1 });
    expect(work.retryAt).toBeGreaterThan(0);
    expect(posts()).toHaveLength(0);
  });

  it("products, plots, the message and extra blocks appear when the work asks for them", async () => {
    const { work } = await run(
      {
        channel_id: "C1",
        products: true,
        plots: true,
        message: "Beam 7 is calibrated",
        blocks: [{ type: "section", text: { type: "mrkdwn", text: "custom block here" } }],
      },
      { command: undefined, function: "./jobs.mjs#image", parameters: { name: "frb7" } },
    );
    expect(work.status).toBe("success");
    const blocks = JSON.stringify(posts()[0]?.body.blocks);
    expect(blocks).toContain("/data/frb7.h5");
    expect(blocks).toContain("/plots/frb7.png");
    expect(blocks).toContain("Beam 7 is calibrated");
    expect(blocks).toContain("custom block here");
  });

  it("member_ids get direct messages: conversations.open, then a post to the DM channel", async () => {
    const { id, work } = await run({ member_ids: ["U1", "U2"] });
    expect(slack.calls.map((c) => [c.method, c.body.users ?? c.body.channel])).toEqual([
      ["conversations.open", "U1"],
      ["chat.postMessage", "D1"],
      ["conversations.open", "U2"],
      ["chat.postMessage", "D1"],
    ]);
    expect(JSON.stringify(posts()[0]?.body.text)).toContain(id);
    expect(work.notify?.slack?.reply).toMatchObject({ ok: true });
  });

  it("SLACK_BOT_TOKEN is used when WORKFLOW_NOTIFY_SLACK_TOKEN is absent", async () => {
    await run(
      { channel_id: "C1" },
      {},
      { SLACK_BOT_TOKEN: "xoxb-bot", WORKFLOW_NOTIFY_SLACK_API_URL: slack.url },
    );
    expect(posts()[0]?.authorization).toBe("Bearer xoxb-bot");
  });

  it("a work that does not ask for Slack sends nothing", async () => {
    const { work } = await run({});
    expect(work.status).toBe("success");
    expect(slack.calls).toEqual([]);
  });
});

describe("Slack failing never fails the work", () => {
  it("Slack answering 500: the work ends success, soon, without a reply", {
    timeout: 30_000,
  }, async () => {
    slack.answer = () => ({ status: 500, body: { ok: false, error: "internal_error" } });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(slack.calls.length).toBeGreaterThan(0);
    expect(work.status).toBe("success");
    expect(work.results).toMatchObject({ exitCode: 0 });
    expect(work.notify?.slack?.reply).toBeUndefined();
  });

  it("Slack rate-limiting with Retry-After: the work ends success without waiting it out", {
    timeout: 30_000,
  }, async () => {
    slack.answer = () => ({
      status: 429,
      body: { ok: false, error: "ratelimited" },
      headers: { "retry-after": "60" },
    });
    const started = Date.now();
    const { work } = await run({ channel_id: "C1" });
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(posts().length).toBeGreaterThan(0);
    expect(work.status).toBe("success");
    expect(work.notify?.slack?.reply).toBeUndefined();
  });

  it("Slack answering ok: false (channel_not_found) leaves the work a success", async () => {
    slack.answer = () => ({ status: 200, body: { ok: false, error: "channel_not_found" } });
    const { work } = await run({ channel_id: "C404" });
    expect(work.status).toBe("success");
    expect(work.notify?.slack?.reply).toBeUndefined();
  });

  it("Slack unreachable: the work ends success", { timeout: 30_000 }, async () => {
    const dead = `http://127.0.0.1:${await freePort()}/api/`;
    const started = Date.now();
    const { work } = await run(
      { channel_id: "C1" },
      {},
      { WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-test", WORKFLOW_NOTIFY_SLACK_API_URL: dead },
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(work.status).toBe("success");
  });
});
