import type { ServiceContext } from "./context.js";

/**
 * Ends lapsed attempts every `seconds`, inside the service. Safe with several instances: each
 * expiry is one conditional update that only one of them can win. Failures are emitted, not thrown.
 */
export function startReaper(ctx: ServiceContext, seconds: number): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= reap(ctx)
      .then(() => undefined)
      .catch((error: unknown) => {
        ctx.events.emit("task:error", "reaper", error);
      })
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** One pass: re-queue or fail what lapsed, and count it. */
export async function reap(ctx: ServiceContext): Promise<{ requeued: number; failed: number }> {
  const expired = await ctx.store.expireLapsed(ctx.now());
  ctx.metrics.expiries.inc(expired.requeued + expired.failed);
  ctx.metrics.requeues.inc(expired.requeued);
  ctx.metrics.failures.inc(expired.failed);
  return expired;
}
