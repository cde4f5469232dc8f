/**
 * Client queries are data, never code: this module turns an untrusted filter into a MongoDB filter
 * through an allow-list of fields and operators, and refuses everything else, naming the part.
 */

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
  /** Prefixes under which any path of plain segments is allowed (user data: parameters, results). */
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

const WORK_FIELDS = [
  "id",
  "pipeline",
  "site",
  "user",
  "function",
  "parameters",
  "command",
  "results",
  "products",
  "plots",
  "tags",
  "event",
  "creation",
  "start",
  "stop",
  "attempt",
  "history",
  "status",
  "timeout",
  "retries",
  "priority",
  "config",
  "notify",
  "leaseUntil",
  "notBefore",
];
const NESTED_FIELDS = [
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
  "notify.slack.reply",
  "history.attempt",
  "history.worker",
  "history.status",
  "history.start",
  "history.stop",
  "history.error",
];

export const VIEW_FIELDS: ReadonlySet<string> = new Set([...WORK_FIELDS, ...NESTED_FIELDS]);
export const VIEW_OPEN_PREFIXES: readonly string[] = ["parameters", "results"];
export const WITHDRAW_FIELDS: ReadonlySet<string> = new Set([
  "pipeline",
  "site",
  "priority",
  "user",
  "event",
  "tags",
  "config.parent",
]);

type Scalar = string | number | boolean | null;

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
  if (!isPlain(input))
    throw new QueryError(path, 'must be a JSON object such as {"pipeline": "name"}');
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const at = `${path}.${key}`;
    if (key === "$and" || key === "$or") {
      if (depth >= MAX_LOGIC_DEPTH)
        throw new QueryError(at, `$and/$or may nest at most ${MAX_LOGIC_DEPTH} deep`);
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_BRANCHES) {
        throw new QueryError(at, `must be a list of 1 to ${MAX_BRANCHES} queries`);
      }
      out[key] = value.map((branch, i) => compileObject(branch, rules, `${at}[${i}]`, depth + 1));
    } else if (key === "$expr") {
      out.$expr = compileExpr(value, rules, at);
    } else if (key.startsWith("$")) {
      throw new QueryError(
        at,
        `operator "${key}" is not allowed here; use field names, $and, $or or $expr`,
      );
    } else {
      const field = checkField(key, rules, at);
      out[field] = compileCondition(value, field, rules, at);
    }
  }
  return out;
}

function checkField(key: string, rules: QueryRules, at: string): string {
  if (key.includes("\0")) throw new QueryError(at, "field names may not contain NUL");
  if (rules.fields.has(key)) return key === "id" ? "_id" : key;
  const [prefix, ...rest] = key.split(".");
  const open = rules.openPrefixes?.includes(prefix ?? "") ?? false;
  if (open && rest.length > 0 && rest.length <= MAX_SEGMENTS && rest.every((s) => SEGMENT.test(s)))
    return key;
  throw new QueryError(
    at,
    `unknown field "${key}"; query the fields of a work (see GET /openapi.json)`,
  );
}

function compileCondition(value: unknown, field: string, rules: QueryRules, at: string): unknown {
  if (!isPlain(value)) return literal(value, field, rules, at);
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((k) => k.startsWith("$"))) {
    throw new QueryError(
      at,
      'compare with a value, a list of values, or an operator object such as {"$in": [...]}; not with an object',
    );
  }
  const out: Record<string, unknown> = {};
  for (const [op, operand] of Object.entries(value)) {
    const opAt = `${at}.${op}`;
    if (!OPERATORS.includes(op)) {
      throw new QueryError(
        opAt,
        `operator "${op}" is not allowed; use one of ${OPERATORS.join(", ")}`,
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
  if (values.length > MAX_LIST)
    throw new QueryError(at, `lists may hold at most ${MAX_LIST} values`);
  return values.map((v, i) => scalar(v, field, rules, `${at}[${i}]`));
}

function scalar(value: unknown, field: string, rules: QueryRules, at: string): unknown {
  const ok =
    value === null ||
    typeof value === "string" ||
    typeof value === "boolean" ||
    (typeof value === "number" && Number.isFinite(value));
  if (!ok) throw new QueryError(at, "values must be strings, numbers, booleans or null");
  if (field !== "_id") return value as Scalar;
  if (typeof value !== "string" || !HEX_ID.test(value))
    throw new QueryError(at, "id must be 24 hexadecimal characters");
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
    operands.every((o) => typeof o === "string" && o.startsWith("$") && !o.startsWith("$$"));
  if (!valid) {
    throw new QueryError(
      at,
      `$expr must be {"$gte"|"$gt"|"$lt"|"$lte"|"$eq": ["$field", "$field"]}`,
    );
  }
  const fields = (operands as string[]).map(
    (o, i) => `$${checkField(o.slice(1), rules, `${at}.${op}[${i}]`)}`,
  );
  return { [op as string]: fields };
}

function isPlain(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
