import { createServer, type IncomingMessage } from "node:http";

/** One call Slack's stand-in received. */
export interface SlackCall {
  /** The Web API method, e.g. chat.postMessage. */
  method: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface SlackAnswer {
  status: number;
  body: object;
  headers?: Record<string, string>;
}

export interface FakeSlack {
  /** The Web API's base URL, as WORKFLOW_NOTIFY_SLACK_API_URL and BUCKETS_SLACK_API_URL take it. */
  url: string;
  calls: SlackCall[];
  /** How it answers each method; healthy unless a test says otherwise. */
  answer: (method: string) => SlackAnswer;
  /** Awaited before each answer: lets a test look at the service while Slack is being called. */
  onCall: ((method: string) => Promise<void>) | undefined;
  /** Forgets the calls and answers healthily again. */
  reset(): void;
  close(): Promise<void>;
}

/** What Slack answers when all is well: a post lands in C1, a DM opens D1. */
export const healthySlack = (method: string): SlackAnswer =>
  method === "conversations.open"
    ? { status: 200, body: { ok: true, channel: { id: "D1" } } }
    : { status: 200, body: { ok: true, channel: "C1", ts: "123.456" } };

/** The Web API client posts forms whose structured fields (blocks) are JSON strings; or JSON. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += chunk;
  if ((req.headers["content-type"] ?? "").includes("json"))
    return JSON.parse(text || "{}") as Record<string, unknown>;
  return Object.fromEntries(
    [...new URLSearchParams(text)].map(([k, v]) => {
      try {
        return [k, v.startsWith("[") || v.startsWith("{") ? JSON.parse(v) : v];
      } catch {
        return [k, v];
      }
    }),
  );
}

/** A local HTTP server playing Slack's Web API on 127.0.0.1: records calls, answers as told. */
export async function startFakeSlack(): Promise<FakeSlack> {
  const server = createServer(async (req, res) => {
    const method = (req.url ?? "").replace(/^\/api\//, "").split("?")[0] as string;
    const body = req.method === "POST" ? await readBody(req) : {};
    fake.calls.push({ method, authorization: req.headers.authorization, body });
    await fake.onCall?.(method);
    const { status, body: reply, headers } = fake.answer(method);
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(reply));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const fake: FakeSlack = {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/api/`,
    calls: [],
    answer: healthySlack,
    onCall: undefined,
    reset() {
      fake.calls.length = 0;
      fake.answer = healthySlack;
      fake.onCall = undefined;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return fake;
}
