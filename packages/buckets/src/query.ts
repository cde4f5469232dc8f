/**
 * Client queries are data, never code: this module turns an untrusted filter into a MongoDB filter
 * through an allow-list of fields and operators, and refuses everything else, naming the part.
 */

import { ArchiveSchema, HistoryEntrySchema, SlackSchema, WorkFieldsSchema } from "@workflow/work";

export class QueryError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.name = "QueryError";
    this.path = path;
  }
}

export interface QueryRules {
  /** Field names allowed as they are, dotted ones included. */
  fields: ReadonlySet<string>;
  /**
   * Dotted prefixes under which any path of plain segments is allowed: parameters and results are
   * user data whose keys the service cannot know in advance.
   */
  openPrefixes?: readonly string[];
  /** Turns a hex id into the stored id; `id` is stored as `_id`. */
  toId: (hex: string) => unknown;
}

const OPERATORS = ["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$all"];
const LIST_OPERATORS = new Set(["$in", "$nin", "$all"]);
const EXPR_OPERATORS = new Set(["$gte", "$gt", "$lt", "$lte", "$eq"]);
const MAX_LIST = 10_000;
const MAX_BRANCHES = 100;
const MAX_LOGIC_DEPTH = 4;
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const MAX_SEGMENTS = 8;
const HEX_ID = /^[0-9a-f]{24}$/i;

// Every field of a stored work, and the sub-fields of its objects as the schemas have them (config's
// are those the service stores: `strategy` stays on the client).
const WORK_FIELDS = Object.keys(WorkFieldsSchema.shape);
const NESTED_FIELDS = [
  "config.archive",
  ...under("config.archive", ...Object.keys(ArchiveSchema.out.shape)),
  ...under("config", "parent", "orgs", "teams", "metrics"),
  // Works whose products or plots could not be archived: {"archive.errors": {"$ne": []}}.
  "archive.errors",
  "notify.slack",
  ...under("notify.slack", ...Object.keys(SlackSchema.out.shape)),
  ...under("history", ...Object.keys(HistoryEntrySchema.shape)),
];

export const VIEW_FIELDS: ReadonlySet<string> = new Set([...WORK_FIELDS, ...NESTED_FIELDS]);
export const VIEW_OPEN_PREFIXES: readonly string[] = ["parameters", "results", "matrix"];
export const WITHDRAW_FIELDS: ReadonlySet<string> = new Set([
  "pipeline",
  "site",
  "priority",
  "user",
  "event",
  "tags",
  "config.parent",
]);

/** Compiles `input` (a JSON object) into a fresh MongoDB filter, or throws QueryError. */
export function compileQuery(
  input: unknown,
  rules: QueryRules,
  root = "query",
): Record<string, unknown> {
  return compileObject(input, rules, root, 0);
}

function compileObject(
  input: unknown,
  rules: QueryRules,
  path: string,
  depth: number,
): Record<string, unknown> {
  if (!isPlain(input)) {
    throw new QueryError(path, 'must be a JSON object such as {"pipeline": "name"}');
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const at = `${path}.${printable(key)}`;
    if (key === "$and" || key === "$or") {
      if (depth >= MAX_LOGIC_DEPTH) {
        throw new QueryError(at, `$and/$or may nest at most ${MAX_LOGIC_DEPTH} deep; flatten it`);
      }
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BRANCHES) {
        throw new QueryError(at, `must be a list of 1 to ${MAX_BRANCHES} queries`);
      }
      out[key] = value.map((branch, i) => compileObject(branch, rules, `${at}[${i}]`, depth + 1));
    } else if (key === "$expr") {
      out.$expr = compileExpr(value, rules, at);
    } else if (key.startsWith("$")) {
      throw new QueryError(
        at,
        `operator "${printable(key)}" is not allowed here; use field names, $and, $or or $expr`,
      );
    } else {
      const field = checkField(key, rules, at);
      out[field] = compileCondition(value, field, rules, at);
    }
  }
  return out;
}

/** Returns the stored name of an allowed field (`id` is stored as `_id`), or refuses it. */
function checkField(key: string, rules: QueryRules, at: string): string {
  if (key.includes("\0")) throw new QueryError(at, "field names may not contain NUL characters");
  if (rules.fields.has(key)) return key === "id" ? "_id" : key;
  for (const prefix of rules.openPrefixes ?? []) {
    if (!key.startsWith(`${prefix}.`)) continue;
    const rest = key.slice(prefix.length + 1).split(".");
    if (rest.length <= MAX_SEGMENTS && rest.every((s) => SEGMENT.test(s))) return key;
    throw new QueryError(
      at,
      `unknown field "${printable(key)}"; under ${prefix} use at most ${MAX_SEGMENTS} names of letters, digits, _ or -, separated by dots (operators go in the value: {"${prefix}.name": {"$gt": 1}})`,
    );
  }
  // A short allow-list (the withdraw filter) is worth spelling out; the view's is documented.
  const known =
    rules.fields.size <= 12
      ? `use one of ${[...rules.fields].join(", ")}`
      : "query the fields of a work (see GET /openapi.json)";
  throw new QueryError(at, `unknown field "${printable(key)}"; ${known}`);
}

function compileCondition(value: unknown, field: string, rules: QueryRules, at: string): unknown {
  if (!isPlain(value)) return literal(value, field, rules, at);
  const keys = Object.keys(value);
  const operators = keys.filter((k) => k.startsWith("$"));
  if (operators.length > 0 && operators.length < keys.length) {
    throw new QueryError(
      at,
      'mixes operators and plain keys; use only operators, such as {"$gte": 1, "$lt": 5}',
    );
  }
  if (operators.length === 0) {
    // Matching a whole embedded document is exact and order-sensitive, so it is never what is meant.
    throw new QueryError(
      at,
      'compare with a value, a list of values, or an operator object such as {"$in": [...]}; not with an object',
    );
  }
  const out: Record<string, unknown> = {};
  for (const [op, operand] of Object.entries(value)) {
    const opAt = `${at}.${printable(op)}`;
    if (!OPERATORS.includes(op)) {
      throw new QueryError(
        opAt,
        `operator "${printable(op)}" is not allowed; use one of ${OPERATORS.join(", ")}`,
      );
    }
    if (op === "$exists") {
      if (typeof operand !== "boolean") throw new QueryError(opAt, "takes true or false");
      out[op] = operand;
    } else if (LIST_OPERATORS.has(op)) {
      if (!Array.isArray(operand)) throw new QueryError(opAt, "takes a list of values");
      out[op] = list(operand, field, rules, opAt);
    } else if (Array.isArray(operand) && (op === "$eq" || op === "$ne")) {
      out[op] = list(operand, field, rules, opAt);
    } else {
      out[op] = scalar(operand, field, rules, opAt);
    }
  }
  return out;
}

function literal(value: unknown, field: string, rules: QueryRules, at: string): unknown {
  return Array.isArray(value) ? list(value, field, rules, at) : scalar(value, field, rules, at);
}

function list(values: unknown[], field: string, rules: QueryRules, at: string): unknown[] {
  if (values.length > MAX_LIST) {
    throw new QueryError(at, `lists may hold at most ${MAX_LIST} values; split the query`);
  }
  return values.map((v, i) => scalar(v, field, rules, `${at}[${i}]`));
}

function scalar(value: unknown, field: string, rules: QueryRules, at: string): unknown {
  const ok =
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value));
  if (!ok) {
    throw new QueryError(
      at,
      "values must be strings, numbers, booleans or null; for objects use an operator on a dotted field",
    );
  }
  if (field !== "_id") return value;
  if (typeof value !== "string" || !HEX_ID.test(value)) {
    throw new QueryError(at, "id must be 24 hexadecimal characters");
  }
  return rules.toId(value.toLowerCase());
}

/** Only `{"$gte": ["$a", "$b"]}` and its siblings: two fields compared, nothing computed. */
function compileExpr(value: unknown, rules: QueryRules, at: string): Record<string, unknown> {
  const entries = isPlain(value) ? Object.entries(value) : [];
  const [op, operands] = entries[0] ?? [];
  const valid =
    entries.length === 1 &&
    op !== undefined &&
    EXPR_OPERATORS.has(op) &&
    Array.isArray(operands) &&
    operands.length === 2 &&
    // `$$` names variables ($$ROOT, $$NOW), which are not fields.
    operands.every((o) => typeof o === "string" && o.startsWith("$") && !o.startsWith("$$"));
  if (!valid || op === undefined) {
    throw new QueryError(
      at,
      '$expr is not allowed in this form; use {"$gte"|"$gt"|"$lt"|"$lte"|"$eq": ["$field", "$field"]}',
    );
  }
  const fields = (operands as string[]).map(
    (o, i) => `$${checkField(o.slice(1), rules, `${at}.${op}[${i}]`)}`,
  );
  return { [op]: fields };
}

/** Only what JSON.parse makes: class instances (Date, ObjectId, Map) would carry their own meaning. */
function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function under(prefix: string, ...names: string[]): string[] {
  return names.map((name) => `${prefix}.${name}`);
}

/** Keys end up in messages and logs: control characters are shown escaped, not written raw. */
function printable(key: string): string {
  return JSON.stringify(key).slice(1, -1);
}
