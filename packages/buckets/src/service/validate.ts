/**
 * Reading request bodies: arrays, works and zod schemas, with messages naming where the problem is.
 */

import {
  checkResultsSize,
  formatIssues,
  MAX_DEPTH,
  pathText,
  QueryFlagSchema,
  tooDeepAt,
  WorkSchema,
} from "@workflow/work";
import type { z } from "zod";
import { invalid, tooLarge } from "../errors.js";

/** Where one item of an array body sits, for messages like `works[3].priority: ...`. */
export const at = (index: number) => `works[${index}]`;

export function requireArray(body: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(body)) {
    throw invalid(`the body must be a JSON array of ${what}, e.g. [{...}, {...}]`);
  }
  if (body.length > max) throw invalid(`at most ${max} ${what} per request; send them in batches`);
  return body;
}

/**
 * Refuses results over the cap with the size, before anything else is checked; and before that,
 * results too deep to measure (JSON.stringify runs out of stack long before the body parser does).
 */
export function requireResultsWithinCap(item: unknown, where: string): void {
  if (typeof item !== "object" || item === null || !("results" in item)) return;
  const deep = tooDeepAt(item.results);
  if (deep) {
    throw invalid(
      `${where}.${pathText(["results", ...deep])}: results nest deeper than ${MAX_DEPTH} levels, the most a work's data may; flatten them`,
      [{ path: [where, "results", ...deep], message: `nested deeper than ${MAX_DEPTH} levels` }],
    );
  }
  const size = checkResultsSize(item.results);
  if (!size.ok) throw tooLarge(`${where}: ${size.message}`);
}

export function parseWork(item: unknown, where: string) {
  return parseWith(WorkSchema, item, where);
}

/** A yes/no query parameter (QueryFlagSchema); a value that is neither is a 400 that names it. */
export const queryFlag = (query: Record<string, unknown>, name: string): boolean =>
  parseWith(QueryFlagSchema, query[name], name);

/** Parses with a schema; a failure is a 400 whose details are the zod issues, paths prefixed. */
export function parseWith<T extends z.ZodType>(
  schema: T,
  value: unknown,
  where: string,
): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  throw invalid(
    `${where}: ${formatIssues(issues)}`,
    issues.map((issue) => ({ ...issue, path: [where, ...issue.path] })),
  );
}
