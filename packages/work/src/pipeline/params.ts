/**
 * A config's `params`: each one either a default as it is (`n: 3`, the shorthand), or typed:
 * `n: { type: int, default: 3, required: false, choices: [1, 3, 5], description: ... }`.
 * Values given when the run starts are checked against the type before anything is stored.
 */

import { z } from "zod";
import { formatIssues } from "../errors.js";

export const PARAM_TYPES = ["int", "float", "str", "bool", "list", "datetime"] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

const ParamSpecSchema = z.strictObject({
  type: z.enum(PARAM_TYPES, { error: `type must be one of ${PARAM_TYPES.join(", ")}` }),
  default: z.unknown().optional(),
  /** Whether the run must be given it; by default, when it has no default. */
  required: z.boolean({ error: "required must be true or false" }).optional(),
  choices: z.array(z.unknown()).min(1, { error: "choices must not be empty" }).optional(),
  description: z.string({ error: "description must be a string" }).max(1000).optional(),
});
export type ParamSpec = z.output<typeof ParamSpecSchema>;

const SPEC_KEYS = new Set(Object.keys(ParamSpecSchema.shape));

/**
 * A typed declaration is a mapping with a `type` and only a declaration's keys; anything else
 * (`model: {type: cnn, layers: 3}`) is a default as it is.
 */
const isTyped = (value: unknown): value is Record<string, unknown> =>
  value !== null &&
  typeof value === "object" &&
  !Array.isArray(value) &&
  "type" in value &&
  Object.keys(value).every((key) => SPEC_KEYS.has(key));

// ISO 8601 as people write it: a date, or a date and a time, with an optional offset.
const DATETIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/;

/** The value as its type holds it, or a message saying what it should be. */
function coerce(type: ParamType, value: unknown): { value: unknown } | { problem: string } {
  const shown = JSON.stringify(value);
  switch (type) {
    case "int":
      if (typeof value === "number" && Number.isInteger(value)) return { value };
      if (typeof value === "string" && /^-?\d+$/.test(value.trim())) {
        // Past 2^53 the text reads as another number (or Infinity, stored as null).
        if (Number.isSafeInteger(+value)) return { value: +value };
        return {
          problem: `${shown} is too large an int: pass one within ±${Number.MAX_SAFE_INTEGER}`,
        };
      }
      return { problem: `${shown} is not an int: pass a whole number such as 3` };
    case "float":
      if (typeof value === "number" && Number.isFinite(value)) return { value };
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(+value)) {
        return { value: +value };
      }
      return { problem: `${shown} is not a float: pass a number such as 0.5` };
    case "str":
      // `--param name=3` reads 3 as a number; a str param takes it as the text it was.
      if (typeof value === "string") return { value };
      if (typeof value === "number" || typeof value === "boolean") return { value: String(value) };
      return { problem: `${shown} is not a str: pass a text` };
    case "bool":
      if (typeof value === "boolean") return { value };
      if (value === "true" || value === "false") return { value: value === "true" };
      return { problem: `${shown} is not a bool: pass true or false` };
    case "list":
      if (Array.isArray(value)) return { value };
      return { problem: `${shown} is not a list: pass a JSON list such as [1, 2]` };
    case "datetime":
      if (typeof value === "string" && DATETIME.test(value) && !Number.isNaN(Date.parse(value))) {
        return { value };
      }
      return {
        problem: `${shown} is not a datetime: pass an ISO 8601 time such as 2027-01-01T09:00:00Z`,
      };
  }
}

export class ParamError extends Error {}

/** Reads a config's declarations; a bad one throws ParamError naming it. */
export function paramSpecs(declared: Record<string, unknown> = {}): Map<string, ParamSpec | null> {
  const specs = new Map<string, ParamSpec | null>();
  for (const [name, raw] of Object.entries(declared)) {
    if (!isTyped(raw)) {
      specs.set(name, null);
      continue;
    }
    const parsed = ParamSpecSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ParamError(`params.${name}: ${formatIssues(parsed.error.issues)}`);
    }
    const spec = parsed.data;
    for (const [i, choice] of (spec.choices ?? []).entries()) {
      const checked = coerce(spec.type, choice);
      if ("problem" in checked)
        throw new ParamError(`params.${name}.choices[${i}]: ${checked.problem}`);
    }
    if (spec.default !== undefined) {
      check(name, spec, spec.default, "default");
    }
    specs.set(name, spec);
  }
  return specs;
}

function check(name: string, spec: ParamSpec, value: unknown, what = "value"): unknown {
  const checked = coerce(spec.type, value);
  if ("problem" in checked) throw new ParamError(`params.${name}: ${what} ${checked.problem}`);
  if (spec.choices) {
    const allowed = spec.choices.map((c) =>
      JSON.stringify((coerce(spec.type, c) as { value: unknown }).value),
    );
    if (!allowed.includes(JSON.stringify(checked.value))) {
      throw new ParamError(
        `params.${name}: ${what} ${JSON.stringify(checked.value)} is not one of its choices: ${allowed.join(", ")}`,
      );
    }
  }
  return checked.value;
}

/**
 * The run's params: each declared one given or defaulted, checked against its type; given ones
 * the config does not declare are kept as they are (the shorthand never refused them).
 */
export function resolveParams(
  declared: Record<string, unknown> | undefined,
  given: Record<string, unknown>,
): Record<string, unknown> {
  const specs = paramSpecs(declared);
  const params: Record<string, unknown> = {};
  for (const [name, spec] of specs) {
    const value = Object.hasOwn(given, name) ? given[name] : undefined;
    if (spec === null) {
      params[name] = value === undefined ? (declared as Record<string, unknown>)[name] : value;
      continue;
    }
    if (value !== undefined) {
      params[name] = check(name, spec, value);
    } else if (spec.default !== undefined) {
      params[name] = check(name, spec, spec.default, "default");
    } else if (spec.required ?? true) {
      throw new ParamError(
        `params.${name}: required (${spec.type}${spec.description ? `: ${spec.description}` : ""}); pass it when the run starts (--param ${name}=...)`,
      );
    }
  }
  for (const [name, value] of Object.entries(given)) {
    if (!specs.has(name)) params[name] = value;
  }
  return params;
}

/** One line a param shows in a dry run: `n=3 (int)`. */
export function describeParams(
  declared: Record<string, unknown> | undefined,
  params: Record<string, unknown>,
): string[] {
  const specs = paramSpecs(declared);
  return Object.entries(params).map(([name, value]) => {
    const spec = specs.get(name);
    return `${name}=${JSON.stringify(value)}${spec ? ` (${spec.type})` : ""}`;
  });
}
