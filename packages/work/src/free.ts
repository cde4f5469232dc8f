import { z } from "zod";

/** How deep free-form data (parameters, results, blocks) may nest; deeper is refused, not stored. */
export const MAX_DEPTH = 32;

/**
 * Walks free-form JSON and reports keys MongoDB would treat as operators or paths (a leading `$`,
 * or a `.`), and nesting past MAX_DEPTH. Data in a work stays data.
 */
function checkFree(value: unknown, ctx: z.core.$RefinementCtx<unknown>): void {
  const walk = (node: unknown, path: (string | number)[]): void => {
    if (path.length > MAX_DEPTH) {
      ctx.addIssue({ code: "custom", path, message: `nested deeper than ${MAX_DEPTH} levels` });
      return;
    }
    if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...path, i]);
    } else if (node !== null && typeof node === "object") {
      for (const [key, item] of Object.entries(node)) {
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
