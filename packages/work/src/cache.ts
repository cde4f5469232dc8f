import { z } from "zod";
import { type DurationUnit, UNIT_SECONDS } from "./durations.js";

export const DURATION_HELP = 'a duration looks like "30d", "12h", "90m" or 3600 (seconds)';

/** A span of time: seconds, or a number with a unit (s, m, h, d, w). Answers seconds. */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? value : undefined;
  const match = /^([1-9]\d{0,9})([smhdw]?)$/.exec(value.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[(match[2] || "s") as DurationUnit];
}

export const DurationSchema = z
  .union([z.number(), z.string()], { error: DURATION_HELP })
  .transform((value, ctx) => {
    const seconds = parseDuration(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: "custom", message: DURATION_HELP });
      return z.NEVER;
    }
    return seconds;
  });

/**
 * Whether a work may be answered from an earlier success with its key (./cache-key.ts): `true`,
 * or `{ ttl, site }`. `ttl`: how old (since it stopped) a success may be to stand in; none: any
 * age. `site`: the site is part of the key (a result that depends on where it ran).
 */
const CACHE_HELP = 'cache must be true, false or { ttl: "30d", site: true }';
const CacheObjectSchema = z.strictObject({
  ttl: DurationSchema.optional(),
  site: z.boolean().optional(),
});
/** An object is checked field by field, so that a bad ttl is named as such. */
export const CacheInputSchema = z
  .union([z.boolean(), z.looseObject({})], { error: CACHE_HELP })
  .transform((value, ctx) => {
    if (typeof value === "boolean") return value;
    const parsed = CacheObjectSchema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
    }
    return z.NEVER;
  });
export const CacheSchema = CacheInputSchema.transform((value) =>
  value === true ? {} : value === false ? undefined : value,
);
export type Cache = z.output<typeof CacheSchema>;

/** Set by the service on a work answered from the cache: the success it stands for. */
export const CachedSchema = z.strictObject({
  from: z.string(),
  /** When it was reused (unix seconds). */
  at: z.number(),
});
