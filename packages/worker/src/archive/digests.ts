/** Digests of a work's products and plots, read before archiving moves them. */

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Outcome } from "../runner/outcome.js";

/** The most products and plots digested for one work: each costs reading the whole file. */
export const MAX_DIGESTS = 1000;
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * The sha256 of each product and plot that is a local file, by the path the work reported, read
 * before archiving moves or deletes it. The service puts them in the keys of the works that need
 * this one, so new bytes under the same path make those run again. URLs and directories have none.
 */
export async function digestsOf(outcome: Outcome, cwd: string): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const paths = [...(outcome.products ?? []), ...(outcome.plots ?? [])];
  for (const path of paths.slice(0, MAX_DIGESTS)) {
    if (URL_LIKE.test(path) || path in digests) continue;
    const file = resolve(cwd, path);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) continue;
    const hash = createHash("sha256");
    const read = await pipeline(createReadStream(file), hash).then(
      () => true,
      () => false,
    );
    if (read) digests[path] = hash.digest("hex");
  }
  return digests;
}

/** The outcome with its digests in `archive.digests`, which reports already carry. */
export function withDigests(outcome: Outcome, digests: Record<string, string>): Outcome {
  if (Object.keys(digests).length === 0) return outcome;
  return { ...outcome, archive: { errors: outcome.archive?.errors ?? [], digests } };
}
