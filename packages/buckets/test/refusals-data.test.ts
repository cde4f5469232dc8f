import { MAX_DEPTH } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { runConfig } from "./support/runs.js";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/** Data no work may hold is refused with a 4xx naming where it is, never a 500 or a silent drop. */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

/** `{"a":{"a":...1}}`, `depth` objects deep, as JSON text. */
const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const workText = (pipeline: string, extra: string) =>
  `{"pipeline":"${pipeline}","site":"local","user":"alice","command":["true"]${extra}}`;

const stored = async (pipeline: string) =>
  (await t.call("POST", "/view/count", { token: t.tokens.alice, body: { query: { pipeline } } }))
    .body;

describe("results nested too deep", () => {
  it(`deposited: a 400 naming the limit (${MAX_DEPTH} levels) and the place, at any depth`, async () => {
    const pipeline = fresh("deep");
    for (const depth of [MAX_DEPTH + 1, 5_000]) {
      const got = await t.call("POST", "/work", {
        token: t.tokens.alice,
        body: `[${workText(pipeline, `,"results":${nested(depth)}`)}]`,
      });
      expect(got.status, JSON.stringify(got.body)).toBe(400);
      const message = (got.body as { error: { message: string } }).error.message;
      expect(message).toContain(`deeper than ${MAX_DEPTH} levels`);
      expect(message).toMatch(/^works\[0\]\.results\.a\.a/);
    }
    const fits = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: `[${workText(pipeline, `,"results":${nested(MAX_DEPTH)}`)}]`,
    });
    expect(fits.status, JSON.stringify(fits.body)).toBe(200);
    expect(await stored(pipeline)).toBe(1);
  });

  it("reported by a worker: a 400, and the work is still running", async () => {
    const pipeline = fresh("deep-report");
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
    const claimed = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    const { id, attempt } = claimed.body as { id: string; attempt: number };
    const got = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: `[{"id":"${id}","attempt":${attempt},"status":"success","results":${nested(5_000)}}]`,
    });
    expect(got.status, JSON.stringify(got.body)).toBe(400);
    expect(JSON.stringify(got.body)).toContain(`deeper than ${MAX_DEPTH} levels`);
    const work = await t.call("GET", `/work/${id}`, { token: t.tokens.alice });
    expect(work.body).toMatchObject({ status: "running" });
  });
});

describe("a work over MongoDB's 16 MB", () => {
  it("is a 413 naming it and its size there, and nothing of the request is stored", async () => {
    const pipeline = fresh("huge");
    // 6 MB of JSON, but every number of a list carries its index as a key in BSON: 36 MB.
    const zeros = new Array(3_000_000).fill(0);
    const got = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline }), aWork({ pipeline, parameters: { zeros } })],
    });
    expect(got.status, JSON.stringify(got.body).slice(0, 500)).toBe(413);
    const message = (got.body as { error: { message: string } }).error.message;
    expect(message).toMatch(/^works\[1\] \(id [0-9a-f]{24}\) takes 3\d\.\d MB in MongoDB/);
    expect(message).toContain("16 MB limit for one work");
    expect(await stored(pipeline)).toBe(0);
  });

  it("reported as a worker's results (under their 4 MB of JSON) is a 413 naming it; the work is left running", async () => {
    const pipeline = fresh("huge-report");
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
    const claimed = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    const { id, attempt } = claimed.body as { id: string; attempt: number };
    const zeros = new Array(1_900_000).fill(0);
    const got = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id, attempt, status: "success", results: { zeros } }],
    });
    expect(got.status, JSON.stringify(got.body).slice(0, 500)).toBe(413);
    expect((got.body as { error: { message: string } }).error.message).toMatch(
      new RegExp(`^work ${id} takes 2\\d\\.\\d MB in MongoDB, over its 16 MB limit`),
    );
    expect((await t.call("GET", `/work/${id}`, { token: t.tokens.alice })).body).toMatchObject({
      status: "running",
    });
    const plain = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id, attempt, status: "success" }],
    });
    expect(plain.status).toBe(200);
  });
});

describe("a rerun of a work that is not an id", () => {
  it("is a 400", async () => {
    const name = fresh("rerun");
    const created = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: runConfig(name, [{ name: "a", work: { command: ["true"] } }]) },
    });
    const { id } = created.body as { id: string };
    await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.alice });
    const got = await t.call("POST", `/runs/${id}/rerun`, {
      token: t.tokens.alice,
      body: { work: "zz" },
    });
    expect(got.status, JSON.stringify(got.body)).toBe(400);
    expect(JSON.stringify(got.body)).toContain("body: work: id must be 24 hexadecimal characters");
  });
});

describe("__proto__ keys", () => {
  const refused = (got: { status: number; body: unknown }, path: string) => {
    expect(got.status, JSON.stringify(got.body)).toBe(400);
    expect((got.body as { error: { message: string } }).error.message).toContain(
      `${path}: "__proto__" may not be a key`,
    );
  };

  it("in a work's parameters, even spelt with an escape, are refused naming the place; nothing is stored", async () => {
    const pipeline = fresh("proto");
    for (const [key, path] of [
      ['"__proto__"', "body[1].parameters.__proto__"],
      ['"\\u005f_proto__"', "body[1].parameters.__proto__"],
    ] as const) {
      const got = await t.call("POST", "/work", {
        token: t.tokens.alice,
        body: `[${workText(pipeline, "")},${workText(pipeline, `,"parameters":{"x":1,${key}:{"y":2}}`)}]`,
      });
      refused(got, path);
    }
    const inList = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: `[${workText(pipeline, `,"parameters":{"list":[1,{"__proto__":2}]}`)}]`,
    });
    refused(inList, "body[0].parameters.list[1].__proto__");
    // At the bottom of a body nested 100,000 deep: found without recursion, named in short.
    const deep = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: `[${'{"a":'.repeat(100_000)}{"__proto__":1}${"}".repeat(100_000)}]`,
    });
    refused(deep, "a.a...(99963 more levels).__proto__");
    expect(JSON.stringify(deep.body).length).toBeLessThan(1_000);
    expect(await stored(pipeline)).toBe(0);
  });

  it("in a /view query is refused, not taken for an empty query that matches everything", async () => {
    const got = await t.call("POST", "/view", {
      token: t.tokens.alice,
      body: '{"query":{"__proto__":{"pipeline":"none"}}}',
    });
    refused(got, "body.query.__proto__");
  });

  it("in a bulk delete's query is refused, and nothing is deleted", async () => {
    const pipeline = fresh("bulk");
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
    const got = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: `{"query":{"__proto__":{"pipeline":"${pipeline}"}},"action":"delete","confirmed":10000}`,
    });
    refused(got, "body.query.__proto__");
    expect(await stored(pipeline)).toBe(1);
  });

  it("in a query parameter's JSON (the configs API) is refused", async () => {
    const query = encodeURIComponent('{"__proto__":{"id":"x"}}');
    const got = await t.call("GET", `/configs?query=${query}`, { token: t.tokens.alice });
    expect(got.status, JSON.stringify(got.body)).toBe(400);
    expect(JSON.stringify(got.body)).toContain('\\"__proto__\\" may not be a key');
  });

  it("constructor and prototype are data like any key: stored and shown as sent", async () => {
    const pipeline = fresh("ctor");
    const parameters = { constructor: { prototype: 1 }, prototype: "p", toString: 3 };
    const deposited = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline, parameters })],
    });
    expect(deposited.status, JSON.stringify(deposited.body)).toBe(200);
    const [id] = deposited.body as string[];
    const shown = await t.call("GET", `/work/${id}`, { token: t.tokens.alice });
    expect((shown.body as { parameters: unknown }).parameters).toEqual(parameters);
    // Escaped text that spells nothing dangerous is read as ever.
    const escaped = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: `[${workText(pipeline, ',"parameters":{"name":"caf\\u00e9"}')}]`,
    });
    expect(escaped.status, JSON.stringify(escaped.body)).toBe(200);
  });
});
