import {
  mintToken,
  type RunningService,
  readOptions,
  type Scope,
  startService,
} from "@workflow/buckets";
import { BucketsClient } from "@workflow/work";
import { afterAll, afterEach, beforeAll } from "vitest";
import { eventually } from "./eventually.js";
import type { Owned } from "./processes.js";
import { TEST_SECRET, testServiceEnv } from "./service-env.js";
import { standIn } from "./stand-in.js";

export { eventually, TEST_SECRET };

export interface Stack {
  service: RunningService;
  url: string;
  token(user: string, scopes: Scope[]): string;
  /** A client as an admin (or as `user` with `scopes`). */
  client(options?: { user?: string; scopes?: Scope[]; workerId?: string }): BucketsClient;
  close(): Promise<void>;
}

/** The real service on 127.0.0.1:0, against this test file's own database in the run's mongod. */
export async function startStack(
  file: string,
  env: Record<string, string> = {},
  label = "",
  /** What the service's own tests may hook: its clock, the commands it sends to MongoDB. */
  hooks: Parameters<typeof startService>[1] = {},
): Promise<Stack> {
  const service = await startService(readOptions(testServiceEnv(file, label, env)), hooks);
  const token = (user: string, scopes: Scope[]) => mintToken(service.keys, { user, scopes });
  return {
    service,
    url: service.url,
    token,
    client: ({
      user = "admin",
      scopes = ["admin"] as Scope[],
      workerId,
    }: {
      user?: string;
      scopes?: Scope[];
      workerId?: string;
    } = {}) =>
      new BucketsClient({
        baseUrls: [service.url],
        token: token(user, scopes),
        env: {},
        ...(workerId ? { workerId } : {}),
      }),
    close: () => service.close(),
  };
}

/**
 * The file's stack (`startStack`), started before its tests and closed after them, and the
 * processes its tests start (pushed to `owned`), SIGKILLed after each test.
 */
export function useStack(
  file: string,
  env: Record<string, string> = {},
): { stack: Stack; owned: Owned[] } {
  let stack: Stack | undefined;
  const owned: Owned[] = [];
  beforeAll(async () => {
    stack = await startStack(file, env);
  });
  afterEach(async () => {
    await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
  });
  afterAll(async () => {
    await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
    await stack?.close();
  });
  return { stack: standIn(() => stack, "the stack"), owned };
}
