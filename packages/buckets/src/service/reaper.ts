/**
 * The reaper: lapsed attempts ended and due retries re-queued, with the runs' sweeps, inside the
 * service.
 */

import type { ServiceContext } from "./context.js";
import { every, type Periodic } from "./periodic.js";
import { sweepReruns } from "./runs/control.js";
import { deliverRunEnds } from "./runs/deliver.js";
import { sweepRuns } from "./runs/release.js";
import { timeOutRuns } from "./runs/timeout.js";

/**
 * Ends lapsed attempts and re-queues due retries every `seconds`, inside the service. Safe with
 * several instances: each is one conditional update that only one of them can win.
 */
export function startReaper(ctx: ServiceContext, seconds: number): Periodic {
  return every(ctx, "reaper", seconds, () => reap(ctx));
}

/** One pass: fail what lapsed, re-queue what is due, and count it. */
export async function reap(ctx: ServiceContext): Promise<{ lapsed: number; requeued: number }> {
  const now = ctx.now();
  const lapsed = await ctx.store.lapse(now);
  ctx.metrics.expiries.inc(lapsed.retrying + lapsed.final);
  ctx.metrics.failures.inc(lapsed.final);
  const requeued = await ctx.store.retryDue(now);
  ctx.metrics.requeues.inc(requeued);
  if (requeued > 0) ctx.events.emit("work:queued");
  // Pipelines: lapses and audits end works too, and a crash may have cut a release short.
  await sweepReruns(ctx);
  await timeOutRuns(ctx);
  await sweepRuns(ctx);
  void deliverRunEnds(ctx);
  return { lapsed: lapsed.retrying + lapsed.final, requeued };
}
