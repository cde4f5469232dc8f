/** Works read from a file or stdin, whatever its format; and usage errors. */

import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { parse as parseYaml } from "yaml";

/** A usage problem: the command line or its input is wrong (exit code 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Works from a file: a JSON array (or object), JSON lines, or YAML (a list or one work). `-` reads
 * standard input, whose format is recognised from its content.
 */
export function readWorks(path: string): Record<string, unknown>[] {
  const text = path === "-" ? readFileSync(0, "utf8") : readText(path);
  const kind = path === "-" ? sniff(text) : (extname(path).toLowerCase().slice(1) as string);
  let data: unknown;
  try {
    if (kind === "jsonl" || kind === "ndjson") {
      data = text
        .split("\n")
        .map((line, i) => [line.trim(), i + 1] as const)
        .filter(([line]) => line !== "")
        .map(([line, n]) => {
          try {
            return JSON.parse(line);
          } catch (error) {
            throw new UsageError(`line ${n}: ${(error as Error).message}`);
          }
        });
    } else if (kind === "yaml" || kind === "yml") {
      data = parseYaml(text);
    } else {
      data = JSON.parse(text);
    }
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${path}: ${error.message}`);
    throw new UsageError(`${path}: not valid ${kind || "JSON"}: ${(error as Error).message}`);
  }
  const list = Array.isArray(data) ? data : [data];
  list.forEach((item, i) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw new UsageError(`${path}: item ${i + 1} is not a work object`);
    }
  });
  return list as Record<string, unknown>[];
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}

function sniff(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("[")) return "json";
  if (trimmed.startsWith("{")) {
    try {
      JSON.parse(trimmed);
      return "json";
    } catch {
      return "jsonl";
    }
  }
  return "yaml";
}

/** `k=v`: the value as JSON when it parses, else the plain string. */
export function parseParam(
  pair: string,
  previous: Record<string, unknown> = {},
): Record<string, unknown> {
  const at = pair.indexOf("=");
  if (at <= 0) throw new UsageError(`--param ${pair}: write it as key=value`);
  const raw = pair.slice(at + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...previous, [pair.slice(0, at)]: value };
}
