import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

let t: TestService;
let snapshot: () => Promise<string>;
let closeDb: () => Promise<void>;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
  const { client, db } = await testDb(import.meta.filename, "", { drop: false });
  snapshot = async () =>
    JSON.stringify(await db.collection("works").find().sort({ _id: 1 }).toArray());
  closeDb = () => client.close();
  await t.call("POST", "/work", {
    token: t.tokens.alice,
    body: [aWork(), aWork({ pipeline: "other" })],
  });
});
afterAll(async () => {
  await closeDb();
  await t.close();
});

/** Sends a hostile request: it must be refused with `status`, a message, and no change. */
async function refused(
  status: number,
  method: string,
  path: string,
  body?: unknown,
  pattern?: RegExp,
) {
  const before = await snapshot();
  const got = await t.call(method, path, { body, token: t.tokens.admin });
  expect(got.status, JSON.stringify(got.body)).toBe(status);
  const error = (got.body as { error: { code: string; message: string } }).error;
  expect(error.message).toBeTruthy();
  expect(JSON.stringify(got.body)).not.toMatch(/ at .*\.(ts|js):\d+/);
  if (pattern) expect(error.message).toMatch(pattern);
  expect(await snapshot()).toBe(before);
  return error;
}

describe("queries are data, never code", () => {
  const injections: [string, unknown, RegExp][] = [
    ["$where", { $where: "sleep(1000) || true" }, /\$where.*not allowed/],
    [
      "$function",
      { status: { $function: { body: "return true", args: [], lang: "js" } } },
      /status\.\$function.*not allowed/,
    ],
    ["$regex", { pipeline: { $regex: "^(a+)+$" } }, /pipeline\.\$regex.*not allowed/],
    ["an unknown field", { "config.$where": 1 }, /unknown field/],
    ["an object literal", { pipeline: { name: "x" } }, /not with an object/],
  ];
  // The withdraw filter allows fewer fields still: there `status` itself is refused.
  it.each(injections)("withdraw refuses %s", async (_name, filter) => {
    await refused(
      400,
      "POST",
      "/work/withdraw",
      { pipeline: "fit", ...(filter as object) },
      /not allowed|unknown field|not with an object/,
    );
  });
  it.each(injections)("view refuses %s", async (_name, query, pattern) => {
    await refused(400, "POST", "/view", { query }, pattern);
    await refused(400, "POST", "/view/count", { query }, pattern);
  });
  it("a withdraw names the part refused, even nested in $or", async () => {
    await refused(
      400,
      "POST",
      "/view",
      { query: { $or: [{ pipeline: "fit" }, { user: { $where: "1" } }] } },
      /query\.\$or\[1\]\.user\.\$where/,
    );
  });
});

describe("bad works", () => {
  it("refuses keys starting with $ inside a work and at its top", async () => {
    await refused(
      400,
      "POST",
      "/work",
      [aWork({ parameters: { $set: { status: "success" } } })],
      /\$set/,
    );
    await refused(400, "POST", "/work", [{ ...aWork(), $set: { status: "success" } }], /\$set/);
  });
  it("refuses a body that is not an array", async () => {
    await refused(400, "POST", "/work", aWork(), /JSON array/);
    await refused(400, "PUT", "/work", { id: "0123456789abcdef01234567" }, /JSON array/);
    await refused(400, "POST", "/work", JSON.stringify("just text"), /JSON array/);
  });
  it("refuses a 20 MB body with 413", async () => {
    await refused(
      413,
      "POST",
      "/work",
      JSON.stringify([aWork({ parameters: { x: "a".repeat(20_000_000) } })]),
      /16 MB/,
    );
  });
  it("refuses results of 4,000,001 bytes with 413 naming the size, on deposit and on update", async () => {
    const results = { x: "a".repeat(4_000_001 - 8) };
    await refused(413, "POST", "/work", [aWork({ results })], /4000001 bytes/);
    const [stored] = (await t.call("POST", "/view", { body: { query: { pipeline: "fit" } } }))
      .body as { id: string }[];
    await refused(413, "PUT", "/work", [{ id: stored?.id, results }], /4000001 bytes/);
  });
  it("refuses priority 'high' and an unknown key in notify.slack", async () => {
    await refused(400, "POST", "/work", [aWork({ priority: "high" })], /priority/);
    await refused(
      400,
      "POST",
      "/work",
      [aWork({ notify: { slack: { channel: "C1" } } })],
      /channel/,
    );
  });
  it("names which work of a batch was wrong, and stores none of the batch", async () => {
    const error = await refused(
      400,
      "POST",
      "/work",
      [aWork(), aWork({ pipeline: "bad_name" })],
      /works\[1\]: pipeline/,
    );
    expect(error.code).toBe("invalid");
  });
  it("refuses ids that are not hex everywhere", async () => {
    await refused(
      400,
      "PUT",
      "/work",
      [{ id: "not-an-id", priority: 1 }],
      /id must be 24 hexadecimal/,
    );
    await refused(400, "DELETE", "/work?ids=zz", undefined, /not an id/);
    await refused(400, "POST", "/work/zz/cancel", undefined, /not an id/);
    await refused(400, "POST", "/view", { query: { id: "zz" } }, /id must be 24 hexadecimal/);
    await refused(400, "DELETE", "/work", undefined, /ids is required/);
  });
  it("refuses bad JSON, deep nesting and huge lists with 4xx", async () => {
    await refused(400, "POST", "/work", "{not json", /not valid JSON/);
    await refused(400, "POST", "/work", `${"[".repeat(10_000)}${"]".repeat(10_000)}`);
    await refused(
      400,
      "POST",
      "/view",
      { query: { event: { $in: Array.from({ length: 10_001 }, (_, i) => i) } } },
      /at most 10000/,
    );
  });
  it("refuses count and wait out of range on withdraw", async () => {
    await refused(400, "POST", "/work/withdraw?count=0", { pipeline: "fit" }, /count/);
    await refused(400, "POST", "/work/withdraw?count=101", { pipeline: "fit" }, /count/);
    await refused(400, "POST", "/work/withdraw?wait=31", { pipeline: "fit" }, /wait/);
    await refused(400, "POST", "/work/withdraw", {}, /filter\.pipeline is required/);
  });
  it("answers an unknown route with a JSON 404", async () => {
    await refused(404, "GET", "/nowhere", undefined, /no route GET \/nowhere/);
  });
  it("is still alive after all of this", async () => {
    expect((await t.call("GET", "/livez", { token: null })).status).toBe(200);
  });
});
