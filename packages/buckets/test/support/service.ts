import type { Db, MongoClient } from "mongodb";
import { afterAll, beforeAll } from "vitest";
import { testDb } from "../../../../test/support/db.js";
import { TEST_SECRET, testServiceEnv } from "../../../../test/support/service-env.js";
import { standIn } from "../../../../test/support/stand-in.js";
import {
  mintToken,
  type RunningService,
  readOptions,
  type Scope,
  startService,
} from "../../src/index.js";

export { TEST_SECRET };

export interface TestService {
  service: RunningService;
  url: string;
  /** Tokens for an admin, a scientist (alice: deposit + read) and a worker (withdraw). */
  tokens: { admin: string; alice: string; bob: string; worker: string };
  token(user: string, scopes: Scope[], pipelines?: string[]): string;
  /** fetch against the service, JSON in and out, with a token. */
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; body: unknown; headers: Headers }>;
  close(): Promise<void>;
}

/**
 * What a test may hook in the service: the clocks (this machine's as the service sees it, the
 * schedules'), how often waiting withdraws look again unsignalled, the commands sent to MongoDB.
 */
export type ServiceHooks = NonNullable<Parameters<typeof startService>[1]>;

/** Starts the real service on 127.0.0.1:0 against this test file's own database. */
export async function startTestService(
  file: string,
  env: Record<string, string> = {},
  label = "",
  hooks: ServiceHooks = {},
): Promise<TestService> {
  const options = readOptions(testServiceEnv(file, label, env));
  const service = await startService(options, hooks);
  const token = (user: string, scopes: Scope[], pipelines?: string[]) =>
    mintToken(service.keys, { user, scopes, ...(pipelines ? { pipelines } : {}) });
  const tokens = {
    admin: token("admin", ["admin"]),
    alice: token("alice", ["work:deposit", "work:read"]),
    bob: token("bob", ["work:deposit", "work:read"]),
    worker: token("worker-1", ["work:withdraw", "work:read"]),
  };
  const call: TestService["call"] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    const bearer = options.token === undefined ? tokens.admin : options.token;
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["content-type"] ??= "application/json";
      body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    }
    const response = await fetch(`${service.url}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      // not JSON (metrics): keep the text
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };
  return { service, url: service.url, tokens, token, call, close: () => service.close() };
}

/** What most service tests run with: a reaper that never runs unless the test calls it. */
export const QUIET_REAPER = { BUCKETS_REAP_SECONDS: "3600" };

/** The key a notifying service signs its callbacks with. */
export const CALLBACK_SECRET = "callback-secret-0123456789";

/**
 * A quiet reaper's service that sends its runs' callbacks (signed with CALLBACK_SECRET) to servers
 * on this machine, and its Slack messages to the fake Slack at `slackUrl`.
 */
export const notifyingEnv = (slackUrl: string) => ({
  ...QUIET_REAPER,
  BUCKETS_CALLBACK_SECRET: CALLBACK_SECRET,
  BUCKETS_CALLBACK_ALLOW: "127.0.0.1",
  BUCKETS_SLACK_TOKEN: "xoxb-service",
  BUCKETS_SLACK_API_URL: slackUrl,
});

/**
 * The file's service (`startTestService`) and its database, started before the file's tests and
 * stopped after them. What it answers stands for them once the file's `beforeAll` has run.
 */
export function useTestService(
  file: string,
  env: Record<string, string> = {},
  /** Whether the database is emptied first, for tests that count what is in it; the service's hooks. */
  { emptied = false, hooks = {} }: { emptied?: boolean; hooks?: ServiceHooks } = {},
): { t: TestService; db: Db } {
  let service: TestService | undefined;
  let mongo: { client: MongoClient; db: Db } | undefined;
  beforeAll(async () => {
    mongo = await testDb(file, "", { drop: emptied });
    service = await startTestService(file, env, "", hooks);
  });
  afterAll(async () => {
    await mongo?.client.close();
    await service?.close();
  });
  return { t: standIn(() => service, "the service"), db: standIn(() => mongo?.db, "the database") };
}

/** A valid work for alice; override what the test is about. */
export function aWork(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { pipeline: "fit", site: "local", user: "alice", command: ["true"], ...overrides };
}
