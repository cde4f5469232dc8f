/**
 * An attempt's life after its claim (heartbeat, release, cancel), CHIME's audits, and who may see a
 * work.
 */

import { type AuditDetails, SECONDS_PER_DAY } from "@workflow/work";
import { mayRead, requireOwner, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { notFound, refuse } from "../errors.js";
import type { Holder, Missed, WorkDoc } from "../store/index.js";
import { foreignClaim } from "./claimant.js";
import type { ServiceContext } from "./context.js";
import { releaseRuns, runsOf } from "./runs/release.js";

/** Whether a token's pipelines let it see a work at all. */
export function canSee(principal: Principal, pipeline: string): boolean {
  return !principal.pipelines || principal.pipelines.includes(pipeline);
}

/** Works outside a token's pipelines do not exist for it: no status or attempt leaks out. */
export function requireVisible(principal: Principal, id: string, doc: { pipeline: string } | null) {
  if (!doc || !canSee(principal, doc.pipeline)) throw notFound(`no work with id ${id}`);
}

/**
 * Works outside a token's pipelines, and other users' works for a token that may not read them,
 * do not exist for it: the same 404 as an unknown id, so no id is confirmed to exist.
 */
export function requireReadable(
  principal: Principal,
  id: string,
  doc: { pipeline: string; user: string } | null,
): asserts doc is WorkDoc {
  if (!doc || !canSee(principal, doc.pipeline) || !mayRead(principal, doc.user)) {
    throw notFound(`no work with id ${id}`);
  }
}

/** A fenced write missed: the work is gone, outside the token's pipelines, or moved on. */
function missed(principal: Principal, id: string, attempt: number, what: Missed): never {
  requireVisible(principal, id, what.kind === "missing" ? null : what);
  if (what.kind === "missing") throw notFound(`no work with id ${id}`);
  if (what.kind === "foreign") throw foreignClaim(id, attempt);
  throw refuse(
    "attempt_stale",
    `work ${id}: attempt ${attempt} is no longer running (the work is ${what.status} at attempt ${what.attempt}); stop it`,
    { id, attempt, current: what.attempt, status: what.status },
  );
}

/**
 * The pipeline of the work a worker acts on: the one it names (the shard key: the write goes to its
 * shard, and a wrong one finds no work), else the stored work's, read by id alone.
 */
async function pipelineOf(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  named: string | undefined,
): Promise<string> {
  if (named !== undefined) {
    requireVisible(principal, id, { pipeline: named });
    return named;
  }
  const doc = await ctx.store.findOne(id);
  requireVisible(principal, id, doc);
  return (doc as WorkDoc).pipeline;
}

/** Extends a running attempt's lease; tells the worker when its work was cancelled. */
export async function heartbeat(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  { attempt, pipeline }: { attempt: number; pipeline?: string | undefined },
  holder: Holder,
): Promise<{ cancel: boolean }> {
  requireScope(principal, "work:withdraw");
  const located = await pipelineOf(ctx, principal, id, pipeline);
  const result = await ctx.store.heartbeat(id, located, attempt, ctx.now(), holder);
  if (result.kind === "extended") return { cancel: false };
  if (result.kind === "cancelled") return { cancel: true };
  return missed(principal, id, attempt, result);
}

/** Gives a running attempt back to the queue without spending one of the work's retries. */
export async function release(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  { attempt, pipeline }: { attempt: number; pipeline?: string | undefined },
  holder: Holder,
): Promise<void> {
  requireScope(principal, "work:withdraw");
  const located = await pipelineOf(ctx, principal, id, pipeline);
  const result = await ctx.store.release(id, located, attempt, ctx.now(), holder);
  if (result) missed(principal, id, attempt, result);
  ctx.events.emit("work:queued");
}

/** Cancels a work that has not finished; a running one learns it at its next heartbeat. */
export async function cancel(ctx: ServiceContext, principal: Principal, id: string): Promise<void> {
  requireScope(principal, "work:deposit");
  const doc = await ctx.store.findOne(id);
  requireReadable(principal, id, doc);
  requireOwner(principal, doc.user, `work ${id}`);
  if (!(await ctx.store.cancel(id, doc.pipeline, ctx.now()))) {
    const now = await ctx.store.findOne(id, doc.pipeline);
    throw refuse(
      "wrong_status",
      `work ${id} is ${now?.status ?? "gone"}: only unfinished works (or failures awaiting a retry) can be cancelled`,
    );
  }
  // A pipeline's work: its dependents are decided now, not at the reaper's next pass.
  await releaseRuns(ctx, runsOf([doc]));
}

export type AuditKind = "failed" | "expired" | "stale";

/**
 * CHIME's audits, on demand, within the token's pipelines. Each answers how many works it moved;
 * `details` answers the parts too.
 */
export async function audit(
  ctx: ServiceContext,
  principal: Principal,
  kind: AuditKind,
  days = 0,
): Promise<AuditDetails> {
  requireScope(principal, "admin");
  const within = principal.pipelines;
  const now = ctx.now();
  switch (kind) {
    case "failed": {
      const requeued = await ctx.store.auditFailed(within);
      ctx.metrics.requeues.inc(requeued);
      if (requeued > 0) ctx.events.emit("work:queued");
      return { total: requeued, requeued };
    }
    case "expired": {
      const ended = await ctx.store.auditExpired(now, within);
      ctx.metrics.failures.inc(ended.final);
      return { total: ended.retrying + ended.final, ...ended };
    }
    case "stale": {
      const failed = await ctx.store.auditStale(now - days * SECONDS_PER_DAY, now, within);
      ctx.metrics.failures.inc(failed);
      return { total: failed, failed };
    }
  }
}
