/**
 * `${{ ... }}` expressions in a step's work template: `matrix.x`, `params.x`,
 * `needs.<step>.results.<path>` and `release.time`. An expression that is the whole string keeps its JSON type; one
 * inside a longer string is written into it as text. Values are only ever read, never evaluated.
 */

const EXPRESSION = /\$\{\{\s*(.*?)\s*\}\}/g;
const WHOLE = /^\$\{\{\s*(.*?)\s*\}\}$/;
const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_-]+)*$/;

export type Reference =
  | { kind: "matrix"; key: string }
  | { kind: "params"; key: string }
  | { kind: "needs"; step: string; path: string[] }
  | { kind: "release"; key: "time" };

/** What an expression names, or an error message saying what is wrong with it. */
export function parseReference(text: string): Reference | string {
  if (!PATH.test(text)) {
    return `"\${{ ${text} }}" is not an expression: use matrix.<key>, params.<key>, needs.<step>.results.<path> or release.time`;
  }
  const [head, ...rest] = text.split(".");
  if ((head === "matrix" || head === "params") && rest.length >= 1) {
    // matrix.x.y reads x, then y inside it.
    return { kind: head, key: rest.join(".") };
  }
  if (head === "release" && rest.join(".") === "time") return { kind: "release", key: "time" };
  if (head === "needs" && rest.length >= 2 && rest[1] === "results") {
    return { kind: "needs", step: rest[0] as string, path: rest.slice(2) };
  }
  return `"\${{ ${text} }}" is not an expression: use matrix.<key>, params.<key>, needs.<step>.results.<path> or release.time`;
}

/** Every expression in a template, with where it sits (e.g. `parameters.a`). */
export function expressionsIn(template: unknown, at = ""): { where: string; text: string }[] {
  if (typeof template === "string") {
    return [...template.matchAll(EXPRESSION)].map((m) => ({ where: at, text: m[1] ?? "" }));
  }
  if (Array.isArray(template)) {
    return template.flatMap((item, i) => expressionsIn(item, `${at}[${i}]`));
  }
  if (template !== null && typeof template === "object") {
    return Object.entries(template).flatMap(([key, item]) =>
      expressionsIn(item, at ? `${at}.${key}` : key),
    );
  }
  return [];
}

/**
 * A value filled into a field that is filled again later (at release) is data, never read as an
 * expression there: its `${{` is held as KEPT_OPEN until that last fill writes it back.
 */
const OPEN = "${{";
const KEPT_OPEN = "$\uE000{{";

/** A value with every `${{` in its strings kept from being read as an expression. */
function keep(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll(OPEN, KEPT_OPEN);
  if (Array.isArray(value)) return value.map(keep);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keep(v)]));
  }
  return value;
}

/** A filled value with its kept `${{` written back as the data they are. */
function released(value: unknown): unknown {
  if (typeof value === "string") return value.replaceAll(KEPT_OPEN, OPEN);
  if (Array.isArray(value)) return value.map(released);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, released(v)]));
  }
  return value;
}

/**
 * Fills a template: `resolve` answers the value an expression names, or `undefined` to leave the
 * expression as it is (filled later). A whole-string expression keeps the value's type. With
 * `later`, the template is filled again afterwards: what this fill writes in stays data then;
 * without it, this is the last fill and what earlier ones kept is written back.
 */
export function fill(
  template: unknown,
  resolve: (ref: Reference) => unknown,
  options: { later?: boolean } = {},
): unknown {
  const filled = fillOnce(template, options.later ? (ref) => keep(resolve(ref)) : resolve);
  return options.later ? filled : released(filled);
}

function fillOnce(template: unknown, resolve: (ref: Reference) => unknown): unknown {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole && !(whole[1] ?? "").includes("}}")) {
      const ref = parseReference(whole[1] ?? "");
      if (typeof ref === "string") return template;
      const value = resolve(ref);
      return value === undefined ? template : value;
    }
    return template.replace(EXPRESSION, (match, text: string) => {
      const ref = parseReference(text);
      if (typeof ref === "string") return match;
      const value = resolve(ref);
      if (value === undefined) return match;
      return typeof value === "string" ? value : JSON.stringify(value);
    });
  }
  if (Array.isArray(template)) return template.map((item) => fillOnce(item, resolve));
  if (template !== null && typeof template === "object") {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(template)) out[key] = fillOnce(item, resolve);
    return out;
  }
  return template;
}

/** Reads a dotted path from a value; `undefined` when it is not there. */
export function readPath(value: unknown, path: string[]): unknown {
  let node = value;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** Whether a template still holds an expression of `needs` (filled at release). */
export function needsExpressions(template: unknown): boolean {
  return expressionsIn(template).some((e) => {
    const ref = parseReference(e.text);
    return typeof ref !== "string" && ref.kind === "needs";
  });
}
