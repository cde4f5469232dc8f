/**
 * Retention: dates finished works so that the TTL index removes them after BUCKETS_RETENTION_DAYS.
 */

import type { ServiceContext } from "./context.js";
import { every, type Periodic } from "./periodic.js";

/**
 * With BUCKETS_RETENTION_DAYS set, dates newly finished works every `seconds` so that the
 * retention TTL index can remove them once they are `days` old. With `awaitTransfer`, works bound
 * for the results store are left undated: the transfer removes them once they are kept there.
 */
export function startRetention(
  ctx: ServiceContext,
  days: number | undefined,
  seconds: number,
  { awaitTransfer = false }: { awaitTransfer?: boolean } = {},
): Periodic {
  if (!days) return { stop: async () => {} };
  return every(ctx, "retention", seconds, () =>
    ctx.store.stampFinished(ctx.now(), { awaitTransfer }),
  );
}
