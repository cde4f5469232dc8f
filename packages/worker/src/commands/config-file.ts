/** Reading a pipeline config file and `--param` values, as the service reads them. */

import { readFileSync } from "node:fs";
import { PipelineConfigError, parseConfigText } from "@workflow/work";
import { UsageError } from "./input.js";

/** `--param k=v`, repeated: each value as JSON when it is JSON (3, true, [1,2]), else as text. */
export function paramsOf(pairs: string[] = []): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at < 1) throw new UsageError(`--param ${pair}: write it as name=value`);
    const raw = pair.slice(at + 1);
    try {
      params[pair.slice(0, at)] = JSON.parse(raw);
    } catch {
      params[pair.slice(0, at)] = raw;
    }
  }
  return params;
}

/**
 * A YAML or JSON file (`-` for stdin): its text, and what it holds, read as the service reads a
 * pipeline config. What cannot be read is one usage line.
 */
export function readConfigFile(path: string): { text: string; parsed: unknown } {
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    return { text, parsed: parseConfigText(text, path) };
  } catch (error) {
    if (error instanceof PipelineConfigError) throw new UsageError(error.message);
    throw error;
  }
}
