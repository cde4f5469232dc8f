/** A work's cache key: its definition, which is part of the project's contract. */

import { hash } from "node:crypto";

/**
 * A work's key: what it computes, as a digest. Two works with the same key compute the same thing,
 * so a success of one may stand for the other (see ./cache.ts). The definition is part of the
 * project's contract and must not change between versions: stored keys would stop matching. A
 * new definition gets a new prefix (`k2:`), and keys of the old one simply never match again.
 *
 * `k1:` + hex sha256 of the canonical JSON (object keys sorted, no spaces, arrays in order) of
 *
 *     { "v": 1, "run": function or command, "parameters": {...}, "site": site or null,
 *       "version": version or null, "parents": [parent digest, ...] }
 *
 * where `run` is `{ "function": name }` or `{ "command": [items] }` (or null: the worker supplies
 * it), `parameters` are as queued (templates filled), `site` is there only when the work's
 * `cache.site` says site matters, and `parents` has one digest per step the work needs, in the
 * order of its `needs` (see `parentDigest`).
 */
export const KEY_PREFIX = "k1:";

export interface KeyedWork {
  function?: string | undefined;
  command?: string[] | undefined;
  parameters?: Record<string, unknown> | undefined;
  site: string;
  version?: string | undefined;
  cache?: { site?: boolean | undefined } | undefined;
}

/** The key of a work as it is queued, given the digests of the steps it needs. */
export function workKey(work: KeyedWork, parents: readonly string[] = []): string {
  const run =
    work.function !== undefined
      ? `{"function":${canonicalJson(work.function)}}`
      : work.command !== undefined
        ? `{"command":${canonicalJson(work.command)}}`
        : "null";
  const site = work.cache?.site ? work.site : null;
  // The canonical JSON of the object above, written out in its sorted key order: building the
  // object and sorting its keys cost more than the digest itself, once per work deposited.
  const text =
    `{"parameters":${canonicalJson(work.parameters ?? {})},"parents":${canonicalJson(parents)},` +
    `"run":${run},${site === undefined ? "" : `"site":${canonicalJson(site)},`}` +
    `"v":1,"version":${canonicalJson(work.version ?? null)}}`;
  return KEY_PREFIX + sha256(text);
}

/** What a parent work brings to its children's keys: its key and its data's digests. */
export interface ParentWork {
  key?: string | undefined;
  /** Path to sha256 of each product and plot its worker archived. */
  digests?: Record<string, string> | undefined;
}

/**
 * One needed step, as its dependents' keys see it: sha256 of the canonical JSON of
 * `{ "step": name, "works": [[key or null, [sorted data digests]], ...] }`, works in matrix order.
 * The data digests are the sha256 of each product's and plot's bytes, so new data means a new key
 * even when paths and parameters are equal.
 */
export function parentDigest(step: string, works: readonly ParentWork[]): string {
  const described = {
    step,
    works: works.map((w) => [w.key ?? null, Object.values(w.digests ?? {}).sort()]),
  };
  return sha256(canonicalJson(described));
}

/** JSON with every object's keys sorted: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  // Loops rather than entries/filter/sort/map: the same text, without an array per step.
  if (Array.isArray(value)) {
    let text = "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) text += ",";
      // A hole stays empty, as Array.prototype.join leaves it.
      if (i in value) text += canonicalJson(value[i]);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let text = "{";
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (text.length > 1) text += ",";
    text += `${JSON.stringify(key)}:${canonicalJson(item)}`;
  }
  return `${text}}`;
}

function sha256(text: string): string {
  return hash("sha256", text, "hex");
}
