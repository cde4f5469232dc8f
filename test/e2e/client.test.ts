import { BucketsClient, BucketsError, createWork, type StoredWork } from "@workflow/work";
import { ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/processes.js";
import { type CuttingProxy, startCuttingProxy } from "../support/proxy.js";
import { type Stack, startStack } from "../support/stack.js";

let stack: Stack;
let proxy: CuttingProxy;
let proxyUrl: string;
let dropNextDeposit = false;
let dropped = 0;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  // Forwards everything; when told, lets one deposit reach the service and then hangs up on the caller.
  proxy = await startCuttingProxy(stack.url);
  proxy.drop = (req) => {
    if (!dropNextDeposit || req.method !== "POST" || req.url?.split("?")[0] !== "/work")
      return false;
    dropNextDeposit = false;
    dropped++;
    return true;
  };
  proxyUrl = proxy.url;
});
afterAll(async () => {
  await proxy.close();
  await stack.close();
});

const token = () => stack.token("admin", ["admin"]);
const work = (n: number) => ({
  pipeline: "client",
  site: "s",
  user: "admin",
  command: ["true"],
  event: [n],
});

describe("deposit is safe to retry", () => {
  it("the response is lost after the service stored the works: the client retries and one copy exists", async () => {
    const client = new BucketsClient({ baseUrls: [proxyUrl], token: token(), env: {} });
    dropNextDeposit = true;
    const ids = await client.deposit([work(1), work(2), work(3)], { returnIds: true });
    expect(dropped).toBe(1);
    const admin = stack.client();
    expect(await admin.count({ id: { $in: ids } })).toBe(3);
    expect(await admin.count({ pipeline: "client", event: { $in: [1, 2, 3] } })).toBe(3);
  });

  it("sends what the caller gave; the same work with every default spelled out is the same deposit", async () => {
    const client = stack.client();
    const [id] = await client.deposit([work(8)], { returnIds: true });
    const [stored] = await client.view({ id });
    expect(stored).toMatchObject({ status: "queued", timeout: 3600, retries: 2, priority: 3 });
    const spelled = createWork({ ...work(8), id, creation: stored?.creation }, { env: {} }).work;
    expect(spelled.timeout).toBe(3600);
    await expect(client.deposit([spelled])).resolves.toBe(true);
    expect(await client.count({ pipeline: "client", event: 8 })).toBe(1);
  });

  it("a work that names its id and creation is stored as given; an id in capitals is stored in lowercase, and the caller's works are left as they were", async () => {
    const client = stack.client();
    const hex = new ObjectId().toHexString();
    const asGiven = { ...work(10), id: new ObjectId().toHexString(), creation: 1_234.5 };
    const capitals = { ...work(11), id: hex.toUpperCase(), creation: 1_234.5 };
    const withConfig = {
      ...work(12),
      id: new ObjectId().toHexString(),
      creation: 1_234.5,
      config: { strategy: "relaxed" as const, parent: "p" },
    };
    const sent = structuredClone([asGiven, capitals, withConfig]);
    const ids = await client.depositMany([asGiven, capitals, withConfig]);
    expect(ids).toEqual([asGiven.id, hex, withConfig.id]);
    expect([asGiven, capitals, withConfig]).toEqual(sent);
    const stored = (await client.view({ id: { $in: ids } })).sort(
      (a, b) => (a.event?.[0] ?? 0) - (b.event?.[0] ?? 0),
    );
    expect(stored.map((w) => [w.id, w.creation, w.event])).toEqual([
      [asGiven.id, 1_234.5, [10]],
      [hex, 1_234.5, [11]],
      [withConfig.id, 1_234.5, [12]],
    ]);
    expect(stored[2]?.config).toMatchObject({ parent: "p" });
    expect(stored[2]?.config).not.toHaveProperty("strategy");
  });

  it("the same id with other content is a 409, reaching the caller as a BucketsError", async () => {
    const client = stack.client();
    const [id] = await client.deposit([{ ...work(7), parameters: { v: 1 } }], { returnIds: true });
    const again = await client
      .deposit([{ ...work(7), id, parameters: { v: 2 } }])
      .catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BucketsError);
    expect(again).toMatchObject({ status: 409, code: "id_taken" });
    expect((again as Error).message).toContain(id);
  });
});

describe("depositMany", () => {
  const many = (pipeline: string, n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...work(i), pipeline }));

  it("stores every work once, in requests of 1,000, telling each batch in order; a lost response is retried", async () => {
    const client = new BucketsClient({ baseUrls: [proxyUrl], token: token(), env: {} });
    const told: string[][] = [];
    dropped = 0;
    dropNextDeposit = true;
    const ids = await client.depositMany(many("client-many", 2_500), {
      onStored: (batch) => told.push(batch),
    });
    expect(dropped).toBe(1);
    expect(told.map((batch) => batch.length)).toEqual([1_000, 1_000, 500]);
    expect(told.flat()).toEqual(ids);
    expect(await stack.client().count({ pipeline: "client-many" })).toBe(2_500);
  });

  it("checks every work before it sends any", async () => {
    const works: Record<string, unknown>[] = many("client-many-invalid", 1_500);
    works[1_200] = { ...works[1_200], priority: 9 };
    const error = await stack
      .client()
      .depositMany(works as never)
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/works\[1200\]: .*priority/);
    expect(await stack.client().count({ pipeline: "client-many-invalid" })).toBe(0);
  });

  it("a refused batch stops the rest: the batches told are stored, those not started are not", async () => {
    const client = stack.client();
    const [taken] = await client.deposit([{ ...work(0), pipeline: "client-many-taken" }], {
      returnIds: true,
    });
    const ids = Array.from({ length: 4_000 }, (_, i) =>
      // The second batch reuses a stored id with other content: a 409.
      i === 1_500 ? (taken as string) : new ObjectId().toHexString(),
    );
    const works = many("client-many-refused", 4_000).map((w, i) => ({ ...w, id: ids[i] }));
    const told: string[] = [];
    const error = await client
      .depositMany(works, { onStored: (batch) => told.push(...batch) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 409, code: "id_taken" });
    expect(told.slice(0, 1_000)).toEqual(ids.slice(0, 1_000));
    const stored = await client.view(
      { pipeline: "client-many-refused" },
      { projection: { id: 1 }, limit: 5_000 },
    );
    // Outside the refused request, a work is stored exactly when it was told.
    const storedIds = new Set(stored.map((w) => w.id));
    const toldIds = new Set(told);
    const outside = ids.filter((_, i) => i < 1_000 || i >= 2_000);
    expect(outside.filter((id) => storedIds.has(id) !== toldIds.has(id))).toEqual([]);
    expect(told.filter((id) => ids.indexOf(id) >= 1_000 && ids.indexOf(id) < 2_000)).toEqual([]);
  });
});

describe("finding the service", () => {
  it("takes the first base URL that answers /version, and keeps it", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const client = new BucketsClient({ baseUrls: [dead, stack.url], token: token(), env: {} });
    expect(await client.baseUrl()).toBe(stack.url);
    expect(await client.status()).toHaveProperty("total");
  });

  it("says clearly when no URL answers", async () => {
    const client = new BucketsClient({
      baseUrls: [`http://127.0.0.1:${await freePort()}`],
      token: token(),
      env: {},
      retry: { budgetMs: 500 },
    });
    const error = await client.status().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BucketsError);
    expect(error).toMatchObject({ status: 0, code: "unreachable" });
    expect((error as Error).message).toMatch(/cannot reach the buckets service/);
  });
});

describe("errors", () => {
  it("carry the status, the cause's code and the service's message", async () => {
    const reader = new BucketsClient({
      baseUrls: [stack.url],
      token: stack.token("r", ["work:read"]),
      env: {},
    });
    const forbidden = await reader.deposit([work(9)]).catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ status: 403, code: "scope_missing" });
    expect((forbidden as Error).message).toContain("work:deposit");
    const invalid = await stack
      .client()
      .view({ $where: "1" })
      .catch((e: unknown) => e);
    expect(invalid).toMatchObject({ status: 400, code: "invalid" });
  });

  it("a long-poll's timeout adds its wait to the call's timeout", async () => {
    const client = new BucketsClient({
      baseUrls: [stack.url],
      token: token(),
      env: {},
      timeout: 1,
    });
    const started = Date.now();
    expect(await client.withdraw({ pipeline: "nothing" }, { wait: 2 })).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });
});

describe("following logs", () => {
  const client = (user: string, scopes: ("work:withdraw" | "work:read" | "admin")[]) =>
    new BucketsClient({ baseUrls: [stack.url], token: stack.token(user, scopes), env: {} });

  it("streams an attempt's lines through the client's transport until the attempt ends", async () => {
    const pipeline = `follow-${new ObjectId().toHexString().slice(-8)}`;
    const owner = client("admin", ["admin"]);
    const worker = client("follow-worker", ["work:withdraw", "work:read"]);
    const [id] = await owner.deposit([{ ...work(1), pipeline }], { returnIds: true });
    const held = (await worker.withdraw({ pipeline })) as StoredWork;
    await worker.appendLogs(held, [{ t: Date.now(), stream: "stdout", text: "one" }]);
    const lines: string[] = [];
    let heard: () => void = () => undefined;
    const first = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const following = owner.followLogs(id as string, (line) => {
      lines.push(line.text);
      heard();
    });
    await first;
    await worker.appendLogs(held, [{ t: Date.now(), stream: "stderr", text: "two" }]);
    await worker.update([{ id: held.id, attempt: held.attempt, status: "success" }]);
    expect(await following).toEqual({ attempt: 1, cut: 0, ended: true });
    expect(lines).toEqual(["one", "two"]);
  });

  it("refuses as every other call does: the service's status, code and message", async () => {
    const id = new ObjectId().toHexString();
    const admin = client("admin", ["admin"]);
    const missing = await admin.followLogs(id, () => undefined).catch((e: unknown) => e);
    const paged = (await admin.logsPage(id).catch((e: unknown) => e)) as BucketsError;
    expect(missing).toBeInstanceOf(BucketsError);
    expect(missing).toMatchObject({ status: 404, code: paged.code });
    expect((missing as Error).message).toContain(`GET /work/${id}/logs?follow=true: 404`);
    const stranger = new BucketsClient({ baseUrls: [stack.url], token: "not-a-token", env: {} });
    const refused = await stranger.followLogs(id, () => undefined).catch((e: unknown) => e);
    const status = (await stranger.status().catch((e: unknown) => e)) as BucketsError;
    expect(refused).toBeInstanceOf(BucketsError);
    expect(refused).toMatchObject({ status: 401, code: status.code });
  });

  it("stopped by its signal mid-stream, rejects as an aborted call", async () => {
    const pipeline = `follow-${new ObjectId().toHexString().slice(-8)}`;
    const owner = client("admin", ["admin"]);
    const worker = client("follow-worker", ["work:withdraw", "work:read"]);
    const [id] = await owner.deposit([{ ...work(2), pipeline }], { returnIds: true });
    const held = (await worker.withdraw({ pipeline })) as StoredWork;
    await worker.appendLogs(held, [{ t: Date.now(), stream: "stdout", text: "one" }]);
    const stop = new AbortController();
    const following = owner.followLogs(id as string, () => stop.abort(), { signal: stop.signal });
    await expect(following).rejects.toMatchObject({ status: 0, code: "aborted" });
    await worker.update([{ id: held.id, attempt: held.attempt, status: "success" }]);
  });
});
