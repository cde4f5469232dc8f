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
