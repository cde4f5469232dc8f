import type { IncomingMessage } from "node:http";
import { BucketsClient, BucketsError } from "@workflow/work";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/processes.js";
import { startCuttingProxy } from "../support/proxy.js";
import { type Stack, startStack } from "../support/stack.js";

/** Deposit is safe to retry; the client finds the service among its URLs; errors are typed. */

interface Proxy {
  url: string;
  /** How many of the next POST /work answers to swallow (after the service has answered). */
  drop: number;
  /** How many of the next POST /work to answer 503 without forwarding. */
  unavailable: number;
  /** POST /work requests the service answered, with their statuses. */
  forwarded: number[];
  dropped: number;
  close(): Promise<void>;
}

/** The cutting proxy in front of the service, losing deposit answers or saying 503 itself, as told. */
async function startProxy(target: string): Promise<Proxy> {
  const cutting = await startCuttingProxy(target);
  const proxy: Proxy = {
    url: cutting.url,
    drop: 0,
    unavailable: 0,
    forwarded: [],
    dropped: 0,
    close: cutting.close,
  };
  const deposit = (req: IncomingMessage) =>
    req.method === "POST" && req.url?.split("?")[0] === "/work";
  cutting.refusal = { message: "try later" };
  cutting.cut = (req) => {
    if (!deposit(req) || proxy.unavailable === 0) return false;
    proxy.unavailable--;
    return true;
  };
  // The service answers (the works are stored), and the caller is hung up on instead.
  cutting.drop = (req) => {
    if (!deposit(req) || proxy.drop === 0) return false;
    proxy.drop--;
    proxy.dropped++;
    return true;
  };
  cutting.answered = (req, status) => {
    if (deposit(req)) proxy.forwarded.push(status);
  };
  return proxy;
}

let stack: Stack;
let proxy: Proxy;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  proxy = await startProxy(stack.url);
});
afterAll(async () => {
  await proxy?.close();
  await stack?.close();
});

const admin = () => stack.client();
const viaProxy = () =>
  new BucketsClient({
    baseUrls: [proxy.url],
    token: stack.token("admin", ["admin"]),
    env: {},
    retry: { budgetMs: 10_000, baseMs: 50 },
  });
const works = (pipeline: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    pipeline,
    site: "s",
    user: "admin",
    command: ["echo", String(i)],
    parameters: { i },
  }));
const one = (pipeline: string) => ({ pipeline, site: "s", user: "admin", command: ["true"] });

describe("deposit is safe to retry", () => {
  it("the answer is lost after the service stored the works: the retry stores no copy", async () => {
    proxy.forwarded = [];
    proxy.drop = 1;
    const ids = await viaProxy().deposit(works("dropped-once", 5), { returnIds: true });
    expect(proxy.dropped).toBe(1);
    // The service answered both requests: the first stored the works, the retry found them there.
    expect(proxy.forwarded).toEqual([200, 200]);
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
    expect(await admin().count({ id: { $in: ids } })).toBe(5);
    expect(await admin().count({ pipeline: "dropped-once" })).toBe(5);
    for (const id of ids) expect(await admin().count({ id })).toBe(1);
    const stored = await admin().view({ pipeline: "dropped-once" });
    expect(stored.map((w) => w.parameters?.i).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(stored.every((w) => w.status === "queued")).toBe(true);
  });

  it("a large batch whose answer is lost twice is still stored once", async () => {
    proxy.forwarded = [];
    proxy.drop = 2;
    const result = await viaProxy().deposit(works("dropped-twice", 100));
    expect(result).toBe(true);
    expect(proxy.forwarded).toHaveLength(3);
    expect(await admin().count({ pipeline: "dropped-twice" })).toBe(100);
  });

  it("a 503 from a proxy is retried", async () => {
    proxy.forwarded = [];
    proxy.unavailable = 2;
    const ids = await viaProxy().deposit(works("unavailable", 2), { returnIds: true });
    expect(proxy.unavailable).toBe(0);
    expect(proxy.forwarded).toEqual([200]);
    expect(await admin().count({ id: { $in: ids } })).toBe(2);
  });

  it("the same work (id, content and creation) deposited again is no copy and no error", async () => {
    const id = new ObjectId().toHexString();
    const work = one("same-twice");
    const creation = Date.now() / 1000;
    await admin().deposit([{ ...work, id, creation }]);
    await expect(admin().deposit([{ ...work, id, creation }])).resolves.toBe(true);
    expect(await admin().count({ pipeline: "same-twice" })).toBe(1);
  });

  it("the same id with different content is a 409, and the stored work is unchanged", async () => {
    const id = new ObjectId().toHexString();
    const work = one("conflict");
    await admin().deposit([{ ...work, id, parameters: { v: 1 } }]);
    const error = await admin()
      .deposit([{ ...work, id, parameters: { v: 2 } }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 409 });
    expect((error as Error).message).toContain(id);
    const stored = await admin().view({ id });
    expect(stored).toHaveLength(1);
    expect(stored[0]?.parameters).toEqual({ v: 1 });
  });

  it("a 409 says the request's other works are stored, and sending it again with a new id for the clash stores each once", async () => {
    const taken = new ObjectId().toHexString();
    const fresh = new ObjectId().toHexString();
    const work = one("partly-taken");
    const creation = Date.now() / 1000;
    await admin().deposit([{ ...work, id: taken, creation, parameters: { v: 1 } }]);
    const kept = { ...work, id: fresh, creation, parameters: { v: 0 } };
    const clash = { ...work, id: taken, creation, parameters: { v: 2 } };
    const error = await admin()
      .deposit([kept, clash])
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 409 });
    expect((error as Error).message).toContain("other works are stored");
    expect(await admin().count({ pipeline: "partly-taken" })).toBe(2);
    const renamed = new ObjectId().toHexString();
    await admin().deposit([kept, { ...clash, id: renamed }]);
    expect(await admin().count({ pipeline: "partly-taken" })).toBe(3);
    expect((await admin().view({ id: fresh }))[0]?.parameters).toEqual({ v: 0 });
  });
});

describe("the list of base URLs", () => {
  it("skips a dead first URL and uses the service", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = new BucketsClient({
      baseUrls: [dead, stack.url],
      token: stack.token("admin", ["admin"]),
      env: {},
    });
    const ids = await client.deposit(works("second-url", 2), { returnIds: true });
    expect(await client.baseUrl()).toBe(stack.url);
    expect(await client.count({ id: { $in: ids } })).toBe(2);
  });

  it("none answering is one clear, typed error", async () => {
    const client = new BucketsClient({
      baseUrls: [`http://127.0.0.1:${await freePort()}`, `http://127.0.0.1:${await freePort()}`],
      token: "x",
      env: {},
      retry: { budgetMs: 300 },
    });
    const error = await client.deposit(works("nowhere", 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 0 });
    expect((error as Error).message).toMatch(/cannot reach/);
  });
});

describe("errors carry the status and the service's message", () => {
  it("403: a token without work:deposit", async () => {
    const reader = new BucketsClient({
      baseUrls: [stack.url],
      token: stack.token("reader", ["work:read"]),
      env: {},
    });
    const error = await reader.deposit(works("forbidden", 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 403, code: "scope_missing" });
    expect((error as Error).message).toContain("work:deposit");
    expect(await admin().count({ pipeline: "forbidden" })).toBe(0);
  });

  it("400: a query the service refuses names the refused part", async () => {
    const error = await admin()
      .view({ $where: "sleep(1000)" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 400, code: "invalid" });
    expect((error as Error).message).toContain("$where");
  });

  it("401: a bad token", async () => {
    const stranger = new BucketsClient({ baseUrls: [stack.url], token: "not-a-jwt", env: {} });
    const error = await stranger.count({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 401 });
  });

  it("404: updating a work that does not exist names it, without retrying", async () => {
    const id = new ObjectId().toHexString();
    const started = Date.now();
    const error = await admin()
      .update([{ id, status: "success" }])
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toContain(id);
  });
});
