import type { ServiceContext } from "./context.js";
import { every, type Periodic } from "./periodic.js";

/**
 * With BUCKETS_RETENTION_DAYS set, dates newly finished works every `seconds` so that the
 * retention TTL index can remove them once they are `days` old.
 */
export function startRetention(
  ctx: ServiceContext,
  days: number | undefined,
  seconds: number,
): Periodic {
  if (!days) return { stop: async () => {} };
  return every(ctx, "retention", seconds, () => ctx.store.stampFinished(ctx.now()));
}
