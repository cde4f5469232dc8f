import { describe, expect, it } from "vitest";
import {
  compileQuery,
  QueryError,
  type QueryRules,
  VIEW_FIELDS,
  VIEW_OPEN_PREFIXES,
  WITHDRAW_FIELDS,
} from "../src/query.js";
import { CHIME_FIELDS } from "./support/chime.js";

/** Stands in for ObjectId, so the tests see which values went through `toId`. */
class StoredId {
  constructor(readonly hex: string) {}
}
const toId = (hex: string) => new StoredId(hex);
const view: QueryRules = { fields: VIEW_FIELDS, openPrefixes: VIEW_OPEN_PREFIXES, toId };
const withdraw: QueryRules = { fields: WITHDRAW_FIELDS, toId };

const HEX = "0123456789abcdef01234567";
const ALLOWED_OPERATORS = "$eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists, $all";

/** Compiles `input` expecting a refusal at `path` whose message matches `message`. */
function refused(
  input: unknown,
  path: string,
  message: RegExp | string,
  rules: QueryRules = view,
  root?: string,
): QueryError {
  let caught: unknown;
  try {
    compileQuery(input, rules, root);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(QueryError);
  const error = caught as QueryError;
  expect(error.path).toBe(path);
  expect(error.message.startsWith(`${path}: `), error.message).toBe(true);
  if (typeof message === "string") expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error;
}

const nested = (depth: number): Record<string, unknown> =>
  depth === 0 ? { pipeline: "p" } : { $or: [nested(depth - 1)] };

describe("the field lists", () => {
  it("allow every field of a work and the documented sub-fields", () => {
    expect([...VIEW_FIELDS].sort()).toEqual(
      [
        // CHIME's transfer daemon and dashboards query works by any field of its model.
        ...CHIME_FIELDS,
        // The service's own.
        "history",
        "leaseUntil",
        "notBefore",
        "retryAt",
        "uncounted",
        "step",
        "matrix",
        "cache",
        "cached",
        "key",
        "keyExpired",
        "version",
        "archive",
        "archive.errors",
        "config.archive",
        "config.archive.results",
        "config.archive.products",
        "config.archive.plots",
        "config.archive.logs",
        "config.parent",
        "config.orgs",
        "config.teams",
        "config.metrics",
        "notify.slack",
        "notify.slack.channel_id",
        "notify.slack.member_ids",
        "notify.slack.message",
        "notify.slack.results",
        "notify.slack.products",
        "notify.slack.plots",
        "notify.slack.blocks",
        "notify.slack.reply",
        "history.attempt",
        "history.worker",
        "history.status",
        "history.start",
        "history.stop",
        "history.error",
      ].sort(),
    );
    expect(VIEW_OPEN_PREFIXES).toEqual(["parameters", "results", "matrix"]);
    expect([...WITHDRAW_FIELDS].sort()).toEqual(
      ["pipeline", "site", "priority", "user", "event", "tags", "config.parent"].sort(),
    );
  });
});

/** The filter CHIME's worker withdraws with, every field it may send. */
const CHIME_FILTER = {
  pipeline: { $in: ["a", "b"] },
  site: "s",
  priority: 3,
  user: "u",
  event: { $in: [1, 2] },
  tags: { $in: ["x"] },
  "config.parent": { $in: ["p"] },
};

describe("compileQuery accepts", () => {
  it("the CHIME withdraw filter, unchanged in meaning", () => {
    const filter = structuredClone(CHIME_FILTER);
    const copy = structuredClone(filter);
    const out = compileQuery(filter, withdraw, "filter");
    expect(out).toEqual(copy);
    expect(filter).toEqual(copy);
  });

  it("the same filter after a JSON round trip, as the service receives it", () => {
    const body = JSON.parse(
      '{"pipeline": {"$in": ["a","b"]}, "site": "s", "priority": 3, "user": "u", "event": {"$in": [1,2]}, "tags": {"$in": ["x"]}, "config.parent": {"$in": ["p"]}}',
    );
    expect(compileQuery(body, withdraw, "filter")).toEqual(CHIME_FILTER);
  });

  it("an empty query as an empty filter", () => {
    expect(compileQuery({}, view)).toEqual({});
    expect(compileQuery(Object.create(null), view)).toEqual({});
  });

  it("scalars and lists of scalars as literals", () => {
    const query = {
      pipeline: "p",
      priority: 3,
      timeout: 1.5,
      "config.archive.results": true,
      site: null,
      tags: ["a", 1, false, null],
      event: [],
    };
    expect(compileQuery(query, view)).toEqual(query);
  });

  it("every allowed operator with its operand", () => {
    const query = {
      status: { $eq: "queued" },
      site: { $ne: "chime" },
      pipeline: { $in: ["a", "b"] },
      user: { $nin: ["eve"] },
      priority: { $gt: 1, $lte: 5 },
      attempt: { $gte: 0, $lt: 3 },
      notBefore: { $exists: false },
      tags: { $all: ["x", "y"] },
      event: { $eq: [1, 2] },
      "config.orgs": { $ne: ["chime"] },
    };
    expect(compileQuery(query, view)).toEqual(query);
  });

  it("$and and $or, each branch compiled", () => {
    const query = {
      $and: [{ pipeline: "p" }, { $or: [{ id: HEX.toUpperCase() }, { priority: { $gte: 4 } }] }],
    };
    expect(compileQuery(query, view)).toEqual({
      $and: [{ pipeline: "p" }, { $or: [{ _id: new StoredId(HEX) }, { priority: { $gte: 4 } }] }],
    });
  });

  it("$and/$or nested 4 deep and with 100 branches", () => {
    expect(compileQuery(nested(4), view)).toEqual(nested(4));
    const branches = Array.from({ length: 100 }, (_, i) => ({ event: i }));
    expect(compileQuery({ $or: branches }, view)).toEqual({ $or: branches });
  });

  it("lists of up to 10,000 values", () => {
    const values = Array.from({ length: 10_000 }, (_, i) => i);
    expect(compileQuery({ event: { $in: values } }, view)).toEqual({ event: { $in: values } });
    expect(compileQuery({ event: values }, view)).toEqual({ event: values });
  });

  it("sub-paths of open prefixes, of up to 8 safe segments", () => {
    const query = {
      "parameters.x.y": 1,
      "results.snr": { $gt: 10 },
      "parameters.a-b.c_d.E9": "v",
      "parameters.1.2.3.4.5.6.7.8": true,
    };
    expect(compileQuery(query, view)).toEqual(query);
  });

  it("dotted open prefixes", () => {
    const rules: QueryRules = {
      fields: new Set(["pipeline"]),
      openPrefixes: ["config.metrics"],
      toId,
    };
    expect(compileQuery({ "config.metrics.rate": 2 }, rules)).toEqual({ "config.metrics.rate": 2 });
    refused(
      { "config.parent": "p" },
      "query.config.parent",
      'unknown field "config.parent"',
      rules,
    );
  });
});

describe("compileQuery maps ids", () => {
  it("renames id to _id and converts 24-hex values, lower-cased", () => {
    expect(compileQuery({ id: HEX }, view)).toEqual({ _id: new StoredId(HEX) });
    expect(compileQuery({ id: HEX.toUpperCase() }, view)).toEqual({ _id: new StoredId(HEX) });
    expect(compileQuery({ id: { $eq: HEX, $ne: HEX } }, view)).toEqual({
      _id: { $eq: new StoredId(HEX), $ne: new StoredId(HEX) },
    });
    expect(compileQuery({ id: { $in: [HEX], $nin: [HEX.toUpperCase()] } }, view)).toEqual({
      _id: { $in: [new StoredId(HEX)], $nin: [new StoredId(HEX)] },
    });
    expect(compileQuery({ id: [HEX] }, view)).toEqual({ _id: [new StoredId(HEX)] });
    expect(compileQuery({ id: { $exists: true } }, view)).toEqual({ _id: { $exists: true } });
  });

  it.each([
    ["not hex", { id: "zz" }, "query.id"],
    ["23 characters", { id: HEX.slice(1) }, "query.id"],
    ["25 characters", { id: `${HEX}0` }, "query.id"],
    ["hex with spaces", { id: ` ${HEX.slice(1)}` }, "query.id"],
    ["a number", { id: 12 }, "query.id"],
    ["null", { id: null }, "query.id"],
    ["in $eq", { id: { $eq: "zz" } }, "query.id.$eq"],
    ["in $ne", { id: { $ne: "zz" } }, "query.id.$ne"],
    ["in $in", { id: { $in: [HEX, "zz"] } }, "query.id.$in[1]"],
    ["in $nin", { id: { $nin: ["zz"] } }, "query.id.$nin[0]"],
    ["in a literal list", { id: [HEX, 1] }, "query.id[1]"],
  ])("refuses an id that is %s", (_name, query, path) => {
    refused(query, path, "id must be 24 hexadecimal characters");
  });

  it("refuses _id itself: clients name it id", () => {
    refused({ _id: HEX }, "query._id", 'unknown field "_id"');
  });
});

describe("compileQuery refuses code", () => {
  it("$where at the top level", () => {
    refused(
      { $where: "sleep(1000) || true" },
      "query.$where",
      'operator "$where" is not allowed here; use field names, $and, $or or $expr',
    );
  });

  it("$function in a field", () => {
    refused(
      { status: { $function: { body: "return true", args: [], lang: "js" } } },
      "query.status.$function",
      `operator "$function" is not allowed; use one of ${ALLOWED_OPERATORS}`,
    );
  });

  it("$regex", () => {
    refused({ pipeline: { $regex: "^(a+)+$" } }, "query.pipeline.$regex", "is not allowed");
  });

  it.each([
    "$expr",
    "$elemMatch",
    "$not",
    "$or",
    "$and",
    "$size",
    "$type",
    "$mod",
    "$where",
    "$options",
    "$jsonSchema",
    "$EQ",
    "$",
  ])("the operator %s in a field", (op) => {
    refused({ user: { [op]: 1 } }, `query.user.${op}`, `operator "${op}" is not allowed`);
  });

  it.each(["$nor", "$text", "$comment", "$jsonSchema", "$sampleRate", "$accumulator"])(
    "the operator %s at the top level",
    (op) => {
      refused({ [op]: [] }, `query.${op}`, `operator "${op}" is not allowed here`);
    },
  );

  it("refusals nested in $and/$or, naming the branch", () => {
    refused(
      { $or: [{ pipeline: "p" }, { user: { $where: "1" } }] },
      "query.$or[1].user.$where",
      "is not allowed",
    );
    refused(
      { $and: [{ $or: [{ pipeline: "p" }, { $where: "1" }] }] },
      "query.$and[0].$or[1].$where",
      "is not allowed here",
    );
  });

  it("uses the root it is given in paths", () => {
    refused({ pipeline: "p", $where: "1" }, "filter.$where", "not allowed", withdraw, "filter");
  });
});

describe("compileQuery refuses unknown fields", () => {
  it.each([
    ["an unknown name", "nope"],
    ["an operator in a dotted key", "config.$where"],
    ["an operator after a field", "pipeline.$regex"],
    ["an operator after a dotted field", "config.parent.$ne"],
    ["a sub-field of a closed field", "config.parent.x"],
    ["a prototype name", "__proto__"],
    ["constructor", "constructor"],
    ["an empty name", ""],
    ["a parent path without the allowed leaf", "notify.slack.token"],
  ])("%s", (_name, key) => {
    refused({ [key]: 1 }, `query.${key}`, `unknown field "${key}"`);
  });

  it("a __proto__ key from JSON, without polluting anything", () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}}');
    refused(input, "query.__proto__", 'unknown field "__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("field names with NUL, shown escaped", () => {
    const error = refused(
      { "pipe\0line": "p" },
      "query.pipe\\u0000line",
      "field names may not contain NUL",
    );
    expect(error.message).not.toContain("\0");
    refused({ "parameters.a\0": 1 }, "query.parameters.a\\u0000", "may not contain NUL");
    refused({ pipeline: { "$eq\0": "p" } }, "query.pipeline.$eq\\u0000", "is not allowed");
  });

  it("status, id and open prefixes in a withdraw filter, listing what it allows", () => {
    const error = refused(
      { status: "queued" },
      "filter.status",
      'unknown field "status"',
      withdraw,
      "filter",
    );
    expect(error.message).toContain(
      "use one of pipeline, site, priority, user, event, tags, config.parent",
    );
    refused({ id: HEX }, "filter.id", 'unknown field "id"', withdraw, "filter");
    refused({ "parameters.x": 1 }, "filter.parameters.x", "unknown field", withdraw, "filter");
  });

  it("the view's long list is not spelled out", () => {
    const error = refused({ nope: 1 }, "query.nope", "see GET /openapi.json");
    expect(error.message).not.toContain("leaseUntil");
  });
});

describe("compileQuery refuses bad open-prefix paths", () => {
  it.each([
    ["an operator segment", "parameters.$x"],
    ["an operator further down", "parameters.x.$where"],
    ["a space", "parameters.a b"],
    ["an empty segment", "parameters.a..b"],
    ["a trailing dot", "parameters."],
    ["9 segments", "parameters.1.2.3.4.5.6.7.8.9"],
    ["a dot-prefixed name", "results..x"],
  ])("%s", (_name, key) => {
    refused({ [key]: 1 }, `query.${key}`, /unknown field .*at most 8 names of letters/);
  });

  it("a name that only starts like a prefix", () => {
    refused({ "parametersx.y": 1 }, "query.parametersx.y", "see GET /openapi.json");
  });
});

describe("compileQuery refuses bad shapes", () => {
  it.each([
    ["null", null],
    ["an array", [{ pipeline: "p" }]],
    ["a string", '{"pipeline": "p"}'],
    ["a number", 1],
    ["undefined", undefined],
    ["a Date", new Date()],
    ["a Map", new Map([["pipeline", "p"]])],
  ])("a query that is %s", (_name, input) => {
    refused(input, "query", "must be a JSON object");
  });

  it("an object literal as a value", () => {
    refused({ pipeline: { name: "x" } }, "query.pipeline", /operator object .*not with an object/);
    refused({ config: { parent: "x" } }, "query.config", "not with an object");
    refused({ config: {} }, "query.config", "not with an object");
  });

  it("an operator object mixed with plain keys", () => {
    refused(
      { pipeline: { $in: ["a"], name: "x" } },
      "query.pipeline",
      "mixes operators and plain keys",
    );
    refused({ pipeline: { name: "x", $eq: "a" } }, "query.pipeline", "use only operators");
  });

  it.each([
    ["an object in a list", { tags: ["a", { $gt: "" }] }, "query.tags[1]"],
    ["a nested list", { tags: [["a"]] }, "query.tags[0]"],
    ["NaN", { priority: Number.NaN }, "query.priority"],
    ["Infinity", { priority: { $lt: Number.POSITIVE_INFINITY } }, "query.priority.$lt"],
    ["undefined", { priority: undefined }, "query.priority"],
    ["a function", { priority: () => 1 }, "query.priority"],
    ["a Date", { creation: new Date() }, "query.creation"],
    ["a bigint", { priority: 1n }, "query.priority"],
    ["an object in $in", { pipeline: { $in: [{ $gt: "" }] } }, "query.pipeline.$in[0]"],
    ["an object in $gt", { priority: { $gt: { $function: "" } } }, "query.priority.$gt"],
    ["a list in $gt", { priority: { $gt: [1] } }, "query.priority.$gt"],
  ])("a value that is %s", (_name, query, path) => {
    refused(query, path, "values must be strings, numbers, booleans or null");
  });

  it("operands of the wrong kind", () => {
    refused({ pipeline: { $in: "a" } }, "query.pipeline.$in", "takes a list of values");
    refused({ pipeline: { $nin: { a: 1 } } }, "query.pipeline.$nin", "takes a list of values");
    refused({ tags: { $all: null } }, "query.tags.$all", "takes a list of values");
    refused({ stop: { $exists: 1 } }, "query.stop.$exists", "takes true or false");
    refused({ stop: { $exists: "true" } }, "query.stop.$exists", "takes true or false");
  });

  it("lists longer than 10,000 values", () => {
    const values = Array.from({ length: 10_001 }, (_, i) => i);
    refused({ event: { $in: values } }, "query.event.$in", "at most 10000 values");
    refused({ event: { $nin: values } }, "query.event.$nin", "at most 10000 values");
    refused({ tags: { $all: values } }, "query.tags.$all", "at most 10000 values");
    refused({ event: { $eq: values } }, "query.event.$eq", "at most 10000 values");
    refused({ event: values }, "query.event", "at most 10000 values");
  });

  it("$and/$or nested more than 4 deep", () => {
    refused(nested(5), "query.$or[0].$or[0].$or[0].$or[0].$or", "may nest at most 4 deep");
  });

  it("$and/$or that are not a list of 1 to 100 queries", () => {
    const branches = Array.from({ length: 101 }, () => ({ pipeline: "p" }));
    refused({ $or: branches }, "query.$or", "must be a list of 1 to 100 queries");
    refused({ $and: [] }, "query.$and", "must be a list of 1 to 100 queries");
    refused({ $and: { pipeline: "p" } }, "query.$and", "must be a list of 1 to 100 queries");
    refused({ $or: [{ pipeline: "p" }, "x"] }, "query.$or[1]", "must be a JSON object");
    refused({ $or: [[{ pipeline: "p" }]] }, "query.$or[0]", "must be a JSON object");
  });
});

describe("$expr", () => {
  it.each(["$gte", "$gt", "$lt", "$lte", "$eq"])("compares two allowed fields with %s", (op) => {
    expect(compileQuery({ $expr: { [op]: ["$stop", "$start"] } }, view)).toEqual({
      $expr: { [op]: ["$stop", "$start"] },
    });
  });

  it("maps id to _id and accepts dotted and open-prefix fields", () => {
    expect(compileQuery({ $expr: { $eq: ["$id", "$config.parent"] } }, view)).toEqual({
      $expr: { $eq: ["$_id", "$config.parent"] },
    });
    expect(compileQuery({ $expr: { $gt: ["$results.snr", "$parameters.min"] } }, view)).toEqual({
      $expr: { $gt: ["$results.snr", "$parameters.min"] },
    });
  });

  it("inside $and/$or, next to fields", () => {
    const query = { pipeline: "p", $or: [{ $expr: { $lt: ["$attempt", "$retries"] } }] };
    expect(compileQuery(query, view)).toEqual(query);
  });

  it.each([
    ["an operator that computes", { $function: { body: "return 1", args: [], lang: "js" } }],
    ["$where in disguise", { $where: ["$a", "$b"] }],
    ["$ne", { $ne: ["$stop", "$start"] }],
    ["an arithmetic operand", { $gt: [{ $add: ["$stop", 1] }, "$start"] }],
    ["a literal operand", { $gt: ["$stop", 5] }],
    ["a string without $", { $gt: ["$stop", "start"] }],
    ["a variable", { $eq: ["$$ROOT", "$stop"] }],
    ["$$NOW", { $lt: ["$notBefore", "$$NOW"] }],
    ["three operands", { $eq: ["$stop", "$start", "$creation"] }],
    ["one operand", { $eq: ["$stop"] }],
    ["operands not in a list", { $eq: "$stop" }],
    ["two operators", { $gt: ["$stop", "$start"], $lt: ["$stop", "$start"] }],
    ["an empty object", {}],
    ["a list", [{ $gt: ["$stop", "$start"] }]],
    ["a string", "$stop"],
    ["true", true],
  ])("refuses %s", (_name, expr) => {
    refused({ $expr: expr }, "query.$expr", /\$expr is not allowed in this form; use \{"\$gte"/);
  });

  it("refuses fields outside the allow-list, naming the operand", () => {
    refused(
      { $expr: { $gt: ["$stop", "$secret"] } },
      "query.$expr.$gt[1]",
      'unknown field "secret"',
    );
    refused({ $expr: { $gt: ["$", "$stop"] } }, "query.$expr.$gt[0]", 'unknown field ""');
    refused({ $expr: { $gt: ["$parameters.$x", "$stop"] } }, "query.$expr.$gt[0]", "unknown field");
    refused(
      { pipeline: "p", $expr: { $eq: ["$pipeline", "$status"] } },
      "filter.$expr.$eq[1]",
      'unknown field "status"',
      withdraw,
      "filter",
    );
  });

  it("refuses $expr inside a field", () => {
    refused({ stop: { $expr: { $gt: ["$stop", "$start"] } } }, "query.stop.$expr", "not allowed");
  });
});

describe("the compiled filter", () => {
  it("is built afresh: nothing from the input is shared", () => {
    const input = {
      pipeline: { $in: ["a"] },
      tags: ["x"],
      $or: [{ site: "s" }],
      $expr: { $gt: ["$stop", "$start"] },
    };
    const out = compileQuery(input, view);
    expect(out).not.toBe(input);
    expect(out.pipeline).not.toBe(input.pipeline);
    expect((out.pipeline as { $in: unknown }).$in).not.toBe(input.pipeline.$in);
    expect(out.tags).not.toBe(input.tags);
    expect(out.$or).not.toBe(input.$or);
    expect((out.$or as unknown[])[0]).not.toBe(input.$or[0]);
    expect(out.$expr).not.toBe(input.$expr);
    (out.tags as string[]).push("y");
    expect(input.tags).toEqual(["x"]);
  });

  it("is a plain object even when the input has a null prototype", () => {
    const input = Object.assign(Object.create(null), { pipeline: "p" });
    const out = compileQuery(input, view);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out).toEqual({ pipeline: "p" });
  });
});

describe("QueryError", () => {
  it("is an Error carrying the refused path", () => {
    const error = new QueryError("query.x", "why and how to fix it");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("QueryError");
    expect(error.path).toBe("query.x");
    expect(error.message).toBe("query.x: why and how to fix it");
  });
});
