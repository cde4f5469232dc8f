import { createHmac } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, TEST_SECRET, type TestService } from "./support/service.js";

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
  await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ parameters: { x: 1 } })] });
});
afterAll(() => t.close());

describe("hostile input", () => {
  it("a malformed % escape in a path is a 400, not a 500", async () => {
    for (const path of [
      "/status/details/%E0%A4%A",
      "/work/%ZZ/heartbeat?attempt=1",
      "/work/%/cancel",
      "/audit/stale/%",
    ]) {
      const got = await t.call(
        path.startsWith("/status") || path.startsWith("/audit") ? "GET" : "POST",
        path,
      );
      expect(got.status, path).toBe(400);
      expect(JSON.stringify(got.body)).toMatch(/path|decode/i);
    }
  });

  it("a projection MongoDB refuses (a path collision) is a 400 that says so", async () => {
    const got = await t.call("POST", "/view", {
      body: { query: {}, projection: { parameters: 1, "parameters.x": 1 } },
    });
    expect(got.status).toBe(400);
    expect(JSON.stringify(got.body)).toMatch(/collision/i);
  });

  it('{"pipeline": null} from a token limited to pipelines is a 400', async () => {
    const limited = t.token("w", ["work:withdraw"], ["fit"]);
    const got = await t.call("POST", "/work/withdraw", {
      token: limited,
      body: { pipeline: null },
    });
    expect(got.status).toBe(400);
    expect(JSON.stringify(got.body)).toContain("filter.pipeline");
  });
});

/** Bodies a careless or hostile caller might send to any route that reads one. */
const BODIES: unknown[] = [
  null,
  "a string",
  42,
  [],
  {},
  [null],
  [[[]]],
  { __proto__: { admin: true } },
  JSON.parse('{"__proto__": {"polluted": 1}}'),
  { constructor: { prototype: { x: 1 } } },
  { query: { $where: "sleep(1000)" } },
  { query: { "": 1 } },
  { query: { "a..b": 1 } },
  { query: { "parameters.$[]": 1 } },
  { query: { "parameters.x": { $in: "not-an-array" } } },
  { query: { "parameters.x": { $all: [{ $elemMatch: {} }] } } },
  { query: { $expr: { $gte: ["$start"] } } },
  { query: { $expr: { $gte: ["$start", "$stop", "$x"] } } },
  { query: { $expr: { $gte: [{ $function: {} }, 1] } } },
  { query: { $and: [] } },
  { query: { $or: {} } },
  { query: { id: "not-an-id" } },
  { query: { id: { $in: ["zz", 1] } } },
  { query: { "parameters.x": { $gt: { $gt: 1 } } } },
  { query: { "results.a": { $exists: "yes" } } },
  { query: {}, projection: { "parameters.$": 1 } },
  { query: {}, projection: { "parameters.x.": 1 } },
  { query: {}, projection: { "parameters..x": 1 } },
  { query: {}, projection: { "results.$[]": 1 } },
  { query: {}, projection: { parameters: 0, "parameters.x": 0 } },
  { query: {}, projection: { "results.a": 1, "results.a.b": 1 } },
  { query: {}, skip: 1e300 },
  { query: {}, limit: -1 },
  { query: {}, limit: 1.5 },
  { pipeline: null },
  { pipeline: { $in: [null] } },
  { pipeline: { $in: "fit" } },
  { pipeline: { $nin: ["fit"] } },
  { pipeline: "fit", site: { $gt: null } },
  { pipeline: "fit", "parameters.x": { $in: [{}] } },
  [{ id: null }],
  [{ id: "0".repeat(24), attempt: "1", status: "success" }],
  [{ id: "0".repeat(24), attempt: 1, status: "success", results: { $set: 1 } }],
  [{ id: "0".repeat(24), attempt: 1, status: "success", results: { "a.b": 1 } }],
  [{ pipeline: "fit", site: "local", user: "alice", command: ["a\u0000b"] }],
  [{ pipeline: "fit", site: "local", user: "alice", command: ["true"], parameters: { $x: 1 } }],
  [{ pipeline: "fit", site: "local", user: "alice", command: ["true"], id: 7 }],
  { user: "x", scopes: ["admin"], expiresIn: "99999999999y" },
  { user: "x", scopes: ["admin"], pipelines: [] },
];

const ROUTES: Array<[string, string]> = [
  ["POST", "/work"],
  ["POST", "/work?return_ids=true"],
  ["POST", "/work/withdraw"],
  ["POST", "/work/withdraw?count=2"],
  ["PUT", "/work"],
  ["POST", "/view"],
  ["POST", "/view/count"],
  ["POST", "/tokens"],
  ["POST", "/runs"],
];

const QUERIES: Array<[string, string]> = [
  ["DELETE", "/work?ids="],
  ["DELETE", "/work?ids[]=a&ids[]=b"],
  ["DELETE", "/work?ids[a]=b"],
  ["DELETE", `/work?ids=${"0".repeat(24)}&ids=${"1".repeat(24)}`],
  ["POST", `/work/${"0".repeat(24)}/heartbeat?attempt[]=1`],
  ["POST", `/work/${"0".repeat(24)}/heartbeat?attempt=1e400`],
  ["POST", "/work/nothex/heartbeat?attempt=1"],
  ["POST", "/work/withdraw?count[]=1"],
  ["POST", "/work/withdraw?wait=NaN"],
  ["POST", "/work/withdraw?wait=1e400&count=1e400"],
  ["POST", "/work?return_ids[]=true"],
  ["GET", "/status/details/%00"],
  ["GET", `/status/details/${"p".repeat(5000)}`],
  ["GET", "/audit/stale/1e400"],
  ["GET", "/audit/stale/-1"],
  ["GET", "/audit/stale/0x10"],
  ["DELETE", "/work?ids=%E0%A4%A"],
  ["POST", `/work/${"0".repeat(24)}/heartbeat?attempt=%`],
  ["POST", "/work/withdraw?wait=%ZZ&count=%"],
  ["POST", "/work/withdraw?lease=1e400"],
  ["POST", "/work/withdraw?lease[]=1"],
  ["POST", `/work/${"0".repeat(24)}/release?attempt=1`],
  ["POST", "/work/%E0%A4%A/release?attempt=1"],
  ["GET", "/audit/failed?details[]=true"],
  ["GET", "/status/details/%E0%A4%A?x=%"],
  ["OPTIONS", "/work"],
  ["GET", "/runs?limit=-1&status[]=x&after=zz"],
  ["GET", "/runs?pipeline[$ne]=x"],
  ["GET", "/runs/%ZZ"],
  ["POST", `/runs/${"0".repeat(24)}/cancel`],
  ["POST", `/runs/${"0".repeat(24)}/rerun`],
  ["PATCH", "/work"],
];

describe("no input answers 500", () => {
  const limited = () => t.token("lim", ["admin"], ["fit"]);
  it("bodies of every shape, to every route that reads one, with a full and a limited token", async () => {
    const failures: string[] = [];
    for (const [method, path] of ROUTES) {
      for (const body of BODIES) {
        for (const token of [t.tokens.admin, limited()]) {
          const got = await t.call(method, path, { token, body });
          if (got.status >= 500)
            failures.push(
              `${method} ${path} ${JSON.stringify(body)} -> ${got.status} ${JSON.stringify(got.body)}`,
            );
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("query strings and paths of every shape", async () => {
    const failures: string[] = [];
    for (const [method, path] of QUERIES) {
      const body = method === "GET" ? undefined : { pipeline: "fit" };
      const got = await t.call(method, path, { body });
      if (got.status >= 500)
        failures.push(`${method} ${path} -> ${got.status} ${JSON.stringify(got.body)}`);
    }
    expect(failures).toEqual([]);
  });

  it("deeply nested bodies and queries", async () => {
    const deep = (depth: number, leaf: string, wrap: (inner: string) => string) => {
      let text = leaf;
      for (let i = 0; i < depth; i++) text = wrap(text);
      return text;
    };
    const failures: string[] = [];
    for (const depth of [100, 5_000, 100_000]) {
      const bodies: Array<[string, string]> = [
        ["/view", deep(depth, "1", (inner) => `[${inner}]`)],
        [
          "/view",
          `{"query":${deep(depth, '{"pipeline":"fit"}', (inner) => `{"$and":[${inner}]}`)}}`,
        ],
        ["/view", `{"query":{"parameters.x":${deep(depth, "1", (inner) => `{"$eq":${inner}}`)}}}`],
        ["/view", `{"query":{"parameters.x":${deep(depth, "1", (inner) => `{"a":${inner}}`)}}}`],
        ["/work", `[${deep(depth, "1", (inner) => `{"a":${inner}}`)}]`],
        [
          "/work",
          `[{"pipeline":"fit","site":"local","user":"alice","command":["true"],"parameters":${deep(depth, "1", (inner) => `{"a":${inner}}`)}}]`,
        ],
        [
          "/work/withdraw",
          `{"pipeline":"fit","parameters.x":${deep(depth, "1", (inner) => `{"$in":[${inner}]}`)}}`,
        ],
      ];
      for (const [path, body] of bodies) {
        const got = await t.call("POST", path, { body });
        if (got.status >= 500) {
          failures.push(
            `${path} depth ${depth} -> ${got.status} ${JSON.stringify(got.body).slice(0, 200)}`,
          );
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("tokens of every malformed shape are 401s", async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const signed = (header: object, payload: unknown) => {
      const unsigned = `${b64(header)}.${b64(payload)}`;
      const mac = createHmac("sha256", TEST_SECRET).update(unsigned).digest("base64url");
      return `${unsigned}.${mac}`;
    };
    const admin = { sub: "root", scopes: ["admin"] };
    const tokens = [
      "a.b.c",
      "....",
      "x".repeat(12_000),
      `${b64("not an object")}.${b64(admin)}.sig`,
      signed({ alg: "HS256", kid: { $ne: 1 } }, admin),
      signed({ alg: "HS256", kid: 7 }, admin),
      signed({ alg: "HS256", kid: "x".repeat(8_000) }, admin),
      signed({ alg: "RS256" }, admin),
      signed({ alg: "HS512" }, admin),
      signed({ alg: "HS256" }, [admin]),
      signed({ alg: "HS256" }, "admin"),
      signed({ alg: "HS256" }, { ...admin, exp: "tomorrow" }),
      signed({ alg: "HS256" }, { ...admin, nbf: Date.now() }),
      signed({ alg: "HS256" }, { ...admin, scopes: "admin" }),
      signed({ alg: "HS256" }, { ...admin, scopes: ["root"] }),
      signed({ alg: "HS256" }, { ...admin, sub: 7 }),
      signed({ alg: "HS256" }, { ...admin, pipelines: "fit" }),
    ];
    const answers = [];
    for (const token of tokens) {
      answers.push((await t.call("GET", "/status", { token })).status);
      answers.push((await t.call("GET", "/metrics", { token })).status);
    }
    expect(answers).toEqual(tokens.flatMap(() => [401, 401]));
  });

  it("pipeline configs that are bombs, cycles or nonsense", async () => {
    const laughs = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...Array.from({ length: 8 }, (_, i) => {
        const prev = i === 0 ? "a" : String.fromCharCode(98 + i - 1);
        const name = String.fromCharCode(98 + i);
        return `${name}: &${name} [*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev},*${prev}]`;
      }),
    ].join("\n");
    const step = (extra: string) =>
      `version: "2"\nname: bomb\ndefaults: {user: alice, site: local}\npipeline:\n  steps:\n    - name: one\n      stage: 1\n${extra}`;
    const configs: unknown[] = [
      laughs,
      `${laughs}\n${step('      work: {command: ["true"]}')}`,
      step(
        `      matrix: {a: [${Array.from({ length: 200 }, (_, i) => i).join(",")}], b: [${Array.from({ length: 200 }, (_, i) => i).join(",")}]}\n      work: {command: ["true"]}`,
      ),
      step('      work: {command: !!js/function "function(){}"}'),
      step('      work: {command: ["true"], parameters: {__proto__: {admin: true}}}'),
      step('      needs: [one]\n      work: {command: ["true"]}'),
      step(`      work: {command: ["echo", "\${{ matrix.nope.deeper }}"]}`),
      step('      work: {command: ["\u0000"]}'),
      "- just\n- a\n- list",
      "key: [unclosed",
      "\t\tbad indent: x",
      { version: "2", name: "x", pipeline: { steps: "not a list" } },
      { version: "2", name: "x", pipeline: { steps: [{ name: "one", stage: 1e300, work: {} }] } },
      { version: "2", name: "x".repeat(10_000), pipeline: { steps: [] } },
    ];
    const failures: string[] = [];
    for (const config of configs) {
      const got = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
      if (got.status >= 500) {
        failures.push(
          `${JSON.stringify(config).slice(0, 80)} -> ${got.status} ${JSON.stringify(got.body).slice(0, 200)}`,
        );
      }
    }
    expect(failures).toEqual([]);
  });

  it("a matrix of three lists of 1,000 is refused before it is built", async () => {
    const list = `[${Array.from({ length: 1000 }, (_, i) => i).join(",")}]`;
    const config = `version: "2"\nname: huge\ndefaults: {user: alice, site: local}\npipeline:\n  steps:\n    - name: one\n      matrix: {a: ${list}, b: ${list}, c: ${list}}\n      work: {command: ["true"]}`;
    const got = await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } });
    expect(got.status).toBe(400);
    expect(JSON.stringify(got.body)).toContain("1000000000 combinations");
  });

  it("bodies that are not JSON, or claim an encoding they do not have", async () => {
    const raw = async (headers: Record<string, string>, body: string | Uint8Array) =>
      (
        await fetch(`${t.url}/view`, {
          method: "POST",
          headers: { authorization: `Bearer ${t.tokens.admin}`, ...headers },
          body,
        })
      ).status;
    expect(await raw({ "content-type": "application/json" }, "{")).toBe(400);
    expect(await raw({ "content-type": "application/json; charset=utf-7" }, "{}")).toBeLessThan(
      500,
    );
    expect(
      await raw({ "content-type": "application/json", "content-encoding": "gzip" }, "not gzip"),
    ).toBeLessThan(500);
    expect(
      await raw({ "content-type": "application/json", "content-encoding": "br" }, "x"),
    ).toBeLessThan(500);
    expect(
      await raw({ "content-type": "application/json", "content-encoding": "compress" }, "x"),
    ).toBeLessThan(500);
    expect(await raw({ "content-type": "text/plain" }, "{}")).toBeLessThan(500);
  });
});
