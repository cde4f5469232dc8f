/** Free-form data (parameters, results, blocks): bounded in depth and keys. */

import { z } from "zod";

/** How deep free-form data (parameters, results, blocks) may nest; deeper is refused, not stored. */
export const MAX_DEPTH = 32;
/**
 * The most keys one free-form object (a work's parameters, say) may hold, at every depth: each key
 * costs parsing, validation and storage, and one work with hundreds of thousands of them held the
 * service's event loop for seconds.
 */
export const MAX_FREE_KEYS = 10_000;

/**
 * Walks free-form JSON and reports keys MongoDB would treat as operators or paths (a leading `$`,
 * or a `.`), and nesting past MAX_DEPTH. Data in a work stays data.
 */
function checkFree(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  let keys = 0;
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (keys > MAX_FREE_KEYS) return;
    if (path.length > MAX_DEPTH) {
      ctx.addIssue({ code: "custom", path, message: `nested deeper than ${MAX_DEPTH} levels` });
      return;
    }
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...path, i]);
    } else if (node !== null && typeof node === "object") {
      for (const [key, item] of Object.entries(node)) {
        if (++keys > MAX_FREE_KEYS) {
          ctx.addIssue({
            code: "custom",
            path,
            message: `more than ${MAX_FREE_KEYS} keys (MAX_FREE_KEYS): keep large data in a file and name it`,
          });
          return;
        }
        if (key.startsWith("$") || key.includes(".") || key.includes("\0")) {
          ctx.addIssue({
            code: "custom",
            path: [...path, key],
            message: `key "${key}" is not allowed: keys may not start with "$" or contain "." or NUL`,
          });
        } else {
          walk(item, [...path, key]);
        }
      }
    }
  };
  walk(value, []);
}

/** A JSON object of the user's own shape, checked only for keys and depth. */
export const FreeObjectSchema = z.record(z.string(), z.unknown()).superRefine(checkFree);

/** A list of JSON values of the user's own shape (Slack blocks). */
export const FreeArraySchema = z.array(z.unknown()).superRefine(checkFree);

/** A place in parsed JSON: the keys and indexes from the top. */
export type JsonPath = (string | number)[];

/** Segments of a path a message shows: a body may nest 100,000 deep. */
const PATH_SHOWN = 40;

/** `a[0].b`, as messages name places; a very long path keeps its start and its last key. */
export function pathText(path: JsonPath): string {
  const text = (keys: JsonPath) =>
    keys
      .map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? key : `.${key}`))
      .join("");
  if (path.length <= PATH_SHOWN) return text(path);
  const last = path.at(-1) as string | number;
  const skipped = path.length - PATH_SHOWN;
  const end = typeof last === "number" ? `[${last}]` : `.${last}`;
  return `${text(path.slice(0, PATH_SHOWN - 1))}...(${skipped} more levels)${end}`;
}

interface Visit {
  node: unknown;
  depth: number;
  parent: Visit | undefined;
  key: string | number | undefined;
}

function pathOf(visit: Visit): JsonPath {
  const path: JsonPath = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) path.push(at.key);
  return path.reverse();
}

/**
 * Walks parsed JSON without recursion (bodies nested 100,000 deep exist), depth first, and answers
 * the path of the first node for which `stop` holds.
 */
function findIn(
  value: unknown,
  stop: (key: string | number | undefined, depth: number) => boolean,
): JsonPath | undefined {
  const stack: Visit[] = [{ node: value, depth: 0, parent: undefined, key: undefined }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    if (stop(visit.key, visit.depth)) return pathOf(visit);
    const { node, depth } = visit;
    if (node === null || typeof node !== "object") continue;
    const entries: [string | number, unknown][] = Array.isArray(node)
      ? node.map((item, i) => [i, item])
      : Object.entries(node);
    for (const [key, item] of entries)
      stack.push({ node: item, depth: depth + 1, parent: visit, key });
  }
  return undefined;
}

/** The path of the first value nested deeper than MAX_DEPTH levels, if any. */
export function tooDeepAt(value: unknown): JsonPath | undefined {
  return findIn(value, (_key, depth) => depth > MAX_DEPTH);
}

/**
 * JSON.parse keeps a `__proto__` key as data, but copying it into an object (zod's records,
 * spreads) sets the copy's prototype instead: the key and its value vanish without a word, and a
 * query of it matches everything. The path of the first one, if any.
 */
export function protoKeyAt(value: unknown): JsonPath | undefined {
  return findIn(value, (key) => key === "__proto__");
}
