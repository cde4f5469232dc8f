import { ExpireRequestSchema, type ExpireResult } from "@workflow/work";
import { isAdmin, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { type RunDoc, toObjectId, type Within } from "../store/index.js";
import type { ServiceContext } from "./context.js";
import { canSeeRun, ownRun } from "./runs/access.js";
import { parseWith } from "./validate.js";

/**
 * POST /cache/expire: the successes it names stop standing in for new works (Gaia's expire,
 * d6tflow's reset); they stay as they are otherwise. Only the token's pipelines, and only the
 * caller's own works unless it is an admin: an expiry never reaches (or counts) anyone else's.
 */
export async function expireCache(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<ExpireResult> {
  requireScope(principal, "work:deposit");
  const request = parseWith(ExpireRequestSchema, body ?? {}, "body");
  const now = ctx.now();
  const within: Within = {
    pipelines: principal.pipelines,
    user: isAdmin(principal) ? undefined : principal.sub,
  };
  if (request.pipeline !== undefined) {
    requirePipeline(principal, request.pipeline);
    const before = now - (request.olderThan ?? 0);
    const expired = await ctx.store.cache.expireOlder(
      { ...within, pipelines: [request.pipeline] },
      before,
      now,
    );
    return { expired, keys: 0 };
  }
  let keys: string[];
  if (request.run !== undefined) {
    const run = await ownRun(ctx, principal, toObjectId(request.run));
    const step = request.step as string;
    requireStep(run, step);
    keys = await ctx.store.cache.keysOf(run, [step, ...dependentsOf(run, [step])]);
  } else {
    keys = await withDerived(ctx, principal, within, request.key as string);
  }
  const expired = await ctx.store.cache.expireKeys(within, keys, now);
  return { expired, keys: keys.length };
}

/**
 * The key and every key made from it: wherever a success with one of them is a work of a run,
 * the keys of that run's steps after it, and so on from those (a success reused in another run
 * carries the same key, so that run's dependents are found too). As `--step`, transitively.
 */
async function withDerived(
  ctx: ServiceContext,
  principal: Principal,
  within: Within,
  key: string,
): Promise<string[]> {
  const keys = new Set([key]);
  const seen = new Set<string>();
  for (let frontier = [key]; frontier.length > 0; ) {
    const steps = new Map<string, string[]>();
    for (const { run, step } of await ctx.store.cache.placesOf(within, frontier)) {
      const place = `${run.toHexString()} ${step}`;
      if (seen.has(place)) continue;
      seen.add(place);
      steps.set(run.toHexString(), [...(steps.get(run.toHexString()) ?? []), step]);
    }
    const next: string[] = [];
    for (const [id, named] of steps) {
      const run = await ctx.store.runs.get(toObjectId(id));
      if (!run || !canSeeRun(principal, run)) continue;
      const after = dependentsOf(run, named);
      if (after.length === 0) continue;
      for (const k of await ctx.store.cache.keysOf(run, after)) {
        if (keys.has(k)) continue;
        keys.add(k);
        next.push(k);
      }
    }
    frontier = next;
  }
  return [...keys];
}

function requireStep(run: RunDoc, step: string): void {
  if (!run.steps.some((s) => s.name === step)) {
    throw invalid(
      `step: run ${run._id.toHexString()} has no step "${step}"; its steps are ${run.steps.map((s) => s.name).join(", ")}`,
    );
  }
}

/** The steps that need one of these, or one of those, and so on: their keys were made from theirs. */
function dependentsOf(run: RunDoc, named: readonly string[]): string[] {
  const from = new Set(named);
  const out = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of run.steps) {
      if (!out.has(s.name) && s.needs.some((n) => from.has(n) || out.has(n))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  return [...out];
}
