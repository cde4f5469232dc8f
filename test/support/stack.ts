import {
  mintToken,
  type RunningService,
  readOptions,
  type Scope,
  startService,
} from "@workflow/buckets";
import { BucketsClient } from "@workflow/work";
import { TEST_SECRET, testServiceEnv } from "./service-env.js";

export { TEST_SECRET };

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

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 20_000,
  every = 100,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
