import type { ServiceContext } from "./context.js";

/**
 * With BUCKETS_RETENTION_DAYS set, dates newly finished works every `seconds` so that the
 * retention TTL index can remove them once they are `days` old. Failures are emitted, not thrown.
 */
export function startRetention(
  ctx: ServiceContext,
  days: number | undefined,
  seconds: number,
): { stop(): Promise<void> } {
  if (!days) return { stop: async () => {} };
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= ctx.store
      .stampFinished(ctx.now())
      .then(() => undefined)
      .catch((error: unknown) => {
        ctx.events.emit("task:error", "retention", error);
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
