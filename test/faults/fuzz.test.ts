import { MongoClient } from "mongodb";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseName, mongoUri } from "../support/db.js";
import { type Stack, startStack } from "../support/stack.js";

/** mulberry32: a small seeded generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED = Number(process.env.FUZZ_SEED ?? 20261122);
const REQUESTS = 5_000;

let stack: Stack;
let db: MongoClient;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  db = await MongoClient.connect(mongoUri());
});
afterAll(async () => {
  await db.close();
  await stack.close();
});

it(`${REQUESTS} random malformed requests: no 5xx, the service lives, nothing changes`, {
  timeout: 240_000,
}, async () => {
  const rand = random(SEED);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const admin = stack.token("admin", ["admin"]);
  const client = stack.client();
  const ids = await client.deposit(
    Array.from({ length: 20 }, (_, i) => ({
      pipeline: "fuzz",
      site: "s",
      user: "admin",
      command: ["true"],
      event: [i],
    })),
    { returnIds: true },
  );
  const works = db.db(databaseName(import.meta.filename)).collection("works");
  const before = JSON.stringify(await works.find().sort({ _id: 1 }).toArray());

  const deep = (n: number): unknown =>
    n === 0 ? 1 : rand() < 0.5 ? [deep(n - 1)] : { a: deep(n - 1) };
  const junk = (): unknown =>
    pick([
      () => null,
      () => rand() * 1e12,
      () => "x".repeat(Math.floor(rand() * 100)),
      () => true,
      () => [],
      () => ({}),
      () => ({ $where: "sleep(100)" }),
      () => ({ $gt: "" }),
      () => ({ "a.$b": 1 }),
      () => deep(Math.floor(rand() * 200)),
      () => Array.from({ length: Math.floor(rand() * 20_000) }, () => rand()),
      () => ({ pipeline: { $regex: ".*" } }),
      () => ({ status: { $function: { body: "1", args: [], lang: "js" } } }),
      () => pick(ids),
      () => "zz".repeat(12),
    ])();
  const body = (): string | Buffer =>
    pick([
      () => JSON.stringify(junk()),
      () => JSON.stringify([junk(), junk()]),
      () =>
        JSON.stringify([
          { pipeline: junk(), site: junk(), user: junk(), priority: junk(), $set: junk() },
        ]),
      () => JSON.stringify([{ id: pick(ids), attempt: junk(), status: junk(), results: junk() }]),
      () => JSON.stringify({ query: junk(), projection: junk(), skip: junk(), limit: junk() }),
      () => "{not json",
      () => Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x5d]), // invalid UTF-8 in a string
      () => "[".repeat(5_000) + "]".repeat(5_000),
      () => "",
    ])();
  const routes = [
    ["POST", "/work"],
    ["POST", "/work?return_ids=maybe"],
    ["POST", "/work/withdraw?pipeline=fuzz-none"],
    ["POST", "/work/withdraw?count=abc"],
    ["POST", "/work/withdraw?wait=-1"],
    ["PUT", "/work"],
    ["DELETE", "/work?ids=zz"],
    ["DELETE", "/work?ids[$ne]=1"],
    ["POST", "/view"],
    ["POST", "/view/count"],
    ["GET", "/status/details/$where"],
    ["POST", `/work/${ids[0]}/heartbeat?attempt=x`],
    ["POST", "/work/zz/cancel"],
    ["GET", "/audit/stale/abc"],
    ["POST", "/tokens"],
  ] as const;
  // Bodies are refused with 4xx; a token is a hostile string some of the time.
  const tokens = [
    admin,
    admin,
    admin,
    admin,
    admin,
    admin,
    "Bearer",
    "x.y.z",
    "",
    admin.slice(0, -2),
  ];
  const statuses = new Map<number, number>();
  for (let i = 0; i < REQUESTS; i++) {
    const [method, path] = pick(routes);
    const token = pick(tokens);
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: {
        "content-type": pick([
          "application/json",
          "text/plain",
          "application/json; charset=latin1",
        ]),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      ...(method === "GET" ? {} : { body: body() }),
    });
    await response.arrayBuffer();
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    expect(response.status, `request ${i}: ${method} ${path}`).toBeLessThan(500);
  }
  console.log("fuzz statuses", Object.fromEntries(statuses));
  expect((await fetch(`${stack.url}/livez`)).status).toBe(200);
  expect(JSON.stringify(await works.find().sort({ _id: 1 }).toArray())).toBe(before);
});
