import { ExpireRequestSchema, type ExpireResult } from "@workflow/work";
import { isAdmin, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { type RunDoc, toObjectId } from "../store/index.js";
import type { ServiceContext } from "./context.js";
import { ownRun } from "./runs/access.js";
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
  const within = {
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
    const steps = withDownstream(run, request.step as string);
    keys = await ctx.store.cache.keysOf(run._id, steps);
  } else {
    keys = [request.key as string];
  }
  const expired = await ctx.store.cache.expireKeys(within, keys, now);
  return { expired, keys: keys.length };
}

/** The step and every step that needs it, transitively: their keys were made from its data. */
function withDownstream(run: RunDoc, step: string): string[] {
  if (!run.steps.some((s) => s.name === step)) {
    throw invalid(
      `step: run ${run._id.toHexString()} has no step "${step}"; its steps are ${run.steps.map((s) => s.name).join(", ")}`,
    );
  }
  const out = new Set([step]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of run.steps) {
      if (!out.has(s.name) && s.needs.some((n) => out.has(n))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  return [...out];
}
