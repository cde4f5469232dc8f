import { requireOwner, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { conflict, notFound } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { reap } from "./reaper.js";

const DAY = 86_400;

/** Extends a running attempt's lease; tells the worker when its work was cancelled. */
export async function heartbeat(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  attempt: number,
): Promise<{ cancel: boolean }> {
  requireScope(principal, "work:withdraw");
  const result = await ctx.store.heartbeat(id, attempt, ctx.now(), ctx.leaseSeconds);
  switch (result.kind) {
    case "extended":
      return { cancel: false };
    case "cancelled":
      return { cancel: true };
    case "missing":
      throw notFound(`no work with id ${id}`);
    case "stale":
      throw conflict(
        `work ${id}: attempt ${attempt} is no longer running (the work is ${result.status} at attempt ${result.attempt}); stop it`,
        { id, attempt, current: result.attempt, status: result.status },
      );
  }
}

/** Cancels a work that has not finished; a running one learns it at its next heartbeat. */
export async function cancel(ctx: ServiceContext, principal: Principal, id: string): Promise<void> {
  requireScope(principal, "work:deposit");
  const doc = await ctx.store.findOne(id);
  if (!doc) throw notFound(`no work with id ${id}`);
  requireOwner(principal, doc.user, `work ${id}`);
  requirePipeline(principal, doc.pipeline);
  if (!(await ctx.store.cancel(id, ctx.now()))) {
    const now = await ctx.store.findOne(id);
    throw conflict(
      `work ${id} is ${now?.status ?? "gone"}: only created, queued or running works can be cancelled`,
    );
  }
}

/** CHIME's audits, on demand. Each answers counts. */
export async function audit(
  ctx: ServiceContext,
  principal: Principal,
  kind: "failed" | "expired" | "stale",
  days?: number,
): Promise<Record<string, number>> {
  requireScope(principal, "admin");
  switch (kind) {
    case "failed": {
      const requeued = await ctx.store.requeueFailed();
      if (requeued > 0) ctx.events.emit("work:queued");
      return { requeued };
    }
    case "expired": {
      const { requeued, failed } = await reap(ctx);
      return { expired: requeued + failed, requeued, failed };
    }
    case "stale": {
      const now = ctx.now();
      return { failed: await ctx.store.failStale(now - (days ?? 0) * DAY, now) };
    }
  }
}
