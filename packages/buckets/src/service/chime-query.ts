/**
 * CHIME's client (v1.12) sends `query` and `projection` as JSON text in the URL, as its backends
 * take them. These read them; only the few forms its CLI sends are understood.
 */

import { protoKeyAt } from "@workflow/work";
import { z } from "zod";

/** A query parameter holding a JSON object (`{}` when absent). */
export const JsonParam = (what: string, example = '{"id": "..."}') =>
  z
    .string()
    .max(10_000)
    .default("{}")
    .transform((text, ctx) => {
      try {
        const value = JSON.parse(text) as unknown;
        const proto = protoKeyAt(value);
        if (proto) {
          ctx.addIssue({
            code: "custom",
            path: proto,
            message: `"__proto__" may not be a key (JavaScript takes it for the object's prototype, so it would be dropped); rename it`,
          });
          return z.NEVER;
        }
        if (value !== null && typeof value === "object" && !Array.isArray(value)) {
          return value as Record<string, unknown>;
        }
      } catch {
        // reported below
      }
      ctx.addIssue({
        code: "custom",
        message: `${what} must be a JSON object, e.g. ${example}`,
      });
      return z.NEVER;
    });

/**
 * A MongoDB-style projection of top-level keys (`{"a": 0}` hides a, `{"a": 1}` keeps only the
 * listed keys and `id`); a dotted key (`config.name`) keeps or hides its top-level field.
 */
export function project(
  doc: Record<string, unknown>,
  projection: Record<string, unknown>,
): Record<string, unknown> {
  const top = (key: string) => key.split(".")[0] as string;
  const entries = Object.entries(projection);
  const hidden = new Set(entries.filter(([, v]) => v === 0 || v === false).map(([k]) => top(k)));
  const only = new Set(entries.filter(([, v]) => v === 1 || v === true).map(([k]) => top(k)));
  return Object.fromEntries(
    Object.entries(doc).filter(
      ([key]) => !hidden.has(key) && (only.size === 0 || key === "id" || only.has(key)),
    ),
  );
}
