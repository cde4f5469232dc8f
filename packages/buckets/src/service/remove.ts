import { ObjectIdSchema } from "@workflow/work";
import { isAdmin, requireOwner, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { MAX_BATCH } from "./context.js";

/** `?ids=a&ids=b` and `?ids=a,b` alike. */
export function parseIds(raw: unknown): string[] {
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined);
  const ids = values
    .flatMap((v) => (typeof v === "string" ? v.split(",") : [v]))
    .filter((v) => v !== "");
  if (ids.length === 0) throw invalid("ids is required: ?ids=<id>&ids=<id> or ?ids=<id>,<id>");
  if (ids.length > MAX_BATCH) throw invalid(`at most ${MAX_BATCH} ids per request`);
  return ids.map(parseId);
}

/** One id from a path. */
export function parseId(raw: unknown): string {
  const parsed = ObjectIdSchema.safeParse(raw);
  if (!parsed.success)
    throw invalid(`"${String(raw)}" is not an id: ids are 24 hexadecimal characters`);
  return parsed.data;
}

/**
 * Deletes works. Ids that do not exist are ignored, so that a retried delete succeeds; a non-admin
 * may delete only its own works.
 */
export async function remove(
  ctx: ServiceContext,
  principal: Principal,
  ids: string[],
): Promise<void> {
  requireScope(principal, "work:deposit");
  if (!isAdmin(principal) || principal.pipelines) {
    for (const doc of await ctx.store.findByIds(ids)) {
      requireOwner(principal, doc.user, `work ${doc._id.toHexString()}`);
      requirePipeline(principal, doc.pipeline);
    }
  }
  await ctx.store.remove(ids);
}
