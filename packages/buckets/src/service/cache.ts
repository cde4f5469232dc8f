/**
 * A queued work's key and its reuse of an earlier success. The key's definition is
 * @workflow/work's.
 */

import { type ParentWork, parentDigest, workKey } from "@workflow/work";
import type { CacheSource, WorkDoc } from "../store/index.js";
import type { ServiceContext } from "./context.js";

/** What a work's key and its reuse read. */
export type KeyedDoc = Pick<
  WorkDoc,
  "pipeline" | "site" | "function" | "command" | "parameters" | "version" | "cache" | "uncached"
>;

/** A work being queued, and where its key (and, if reused, its outcome) is written. */
export interface Queuing {
  work: KeyedDoc;
  into: Partial<WorkDoc>;
  /** Its own parents' digests, when they are not those of the whole call (a step `from` another). */
  parents?: readonly string[];
}

/**
 * The one hook of every work being queued (a deposit, a run's first steps, a release): each gets
 * its key, and those whose `cache` allows it and whose key has a usable success in their own
 * pipeline are written as that success (status, results, products, plots, digests and
 * `cached.from`) instead of queued; `count: false` (a preview) leaves the metrics alone. Nothing
 * is stored here: the caller writes each work in one
 * write, so a work is queued or reused, never half of each. Answers how many were reused.
 */
export async function keyAndReuse(
  ctx: ServiceContext,
  queuing: Queuing[],
  parents: readonly string[] = [],
  { count = true }: { count?: boolean } = {},
): Promise<number> {
  const now = ctx.now();
  const hit = (n: number) => count && ctx.metrics.cacheHits.inc(n);
  const miss = (n: number) => count && ctx.metrics.cacheMisses.inc(n);
  const wanted = new Map<string, Queuing[]>();
  for (const item of queuing) {
    const key = workKey(item.work, item.parents ?? parents);
    item.into.key = key;
    if (!item.work.cache) continue;
    if (item.work.uncached) {
      // A rerun named it: it runs, and later releases may take from the cache again.
      item.into.uncached = false;
      miss(1);
      continue;
    }
    const list = wanted.get(item.work.pipeline) ?? [];
    list.push(item);
    wanted.set(item.work.pipeline, list);
  }
  let reused = 0;
  for (const [pipeline, items] of wanted) {
    const since = Math.min(...items.map((i) => oldest(i.work, now)));
    const sources = await ctx.store.cache.sources(
      pipeline,
      items.map((i) => i.into.key as string),
      since,
    );
    let hits = 0;
    for (const item of items) {
      const source = sources.get(item.into.key as string);
      if (source && (source.stop ?? 0) >= oldest(item.work, now)) {
        answer(item.into, source, now);
        hits++;
      }
    }
    hit(hits);
    miss(items.length - hits);
    reused += hits;
  }
  return reused;
}

/** The oldest stop a success may have to stand in for this work. */
function oldest(work: KeyedDoc, now: number): number {
  const ttl = work.cache?.ttl;
  return ttl === undefined ? 0 : now - ttl;
}

function answer(into: Partial<WorkDoc>, source: CacheSource, now: number): void {
  into.status = "success";
  into.cached = { from: source._id.toHexString(), at: now };
  into.start = now;
  into.stop = now;
  for (const field of ["results", "products", "plots", "archive"] as const) {
    if (source[field] !== undefined) (into as Record<string, unknown>)[field] = source[field];
  }
}

type ParentRow = ParentWork & { step?: string | undefined; index?: number | undefined };

/** The digests of the steps a step needs, in the order of its needs, for its works' keys. */
export function parentDigests(needs: readonly string[], rows: readonly ParentRow[]): string[] {
  return needs.map((name) =>
    parentDigest(
      name,
      rows.filter((r) => r.step === name),
    ),
  );
}

/**
 * Each work's parents' digests, for a step `from` another: a work of it reads its own line's work
 * of each step its origins name, and so is keyed by that work alone (the same whether the rest of
 * that step had ended or not). Undefined for a work without origins: the step's digests stand.
 */
export function lineParents(
  needs: readonly string[],
  rows: readonly ParentRow[],
): (origins: Record<string, number> | undefined) => string[] | undefined {
  const whole = parentDigests(needs, rows);
  const byLine = new Map(rows.map((r) => [`${r.step}#${r.index}`, r]));
  return (origins) => {
    if (origins === undefined || !needs.some((n) => origins[n] !== undefined)) return undefined;
    return needs.map((name, i) => {
      const origin = origins[name];
      if (origin === undefined) return whole[i] as string;
      const own = byLine.get(`${name}#${origin}`);
      return parentDigest(name, own ? [own] : []);
    });
  };
}
