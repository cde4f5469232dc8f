/** Deleting works, one or many, each only by who may; and ids read from paths and queries. */

import { ObjectIdSchema } from "@workflow/work";
import { isAdmin, mayRead, requireOwner, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { type ErrorCode, invalid, ServiceError } from "../errors.js";
import type { ServiceContext } from "./context.js";
import { MAX_BATCH } from "./context.js";
import { canSee } from "./lifecycle.js";

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
 * Deletes works. Ids that do not exist are ignored, so that a retried delete succeeds; so are the
 * ids of works the token may not read (outside its pipelines, or another user's without
 * work:read), which do not exist for it. A non-admin may delete only its own works.
 */
export async function remove(
  ctx: ServiceContext,
  principal: Principal,
  ids: string[],
): Promise<void> {
  requireScope(principal, "work:deposit");
  if (isAdmin(principal) && !principal.pipelines) {
    await ctx.store.remove(ids);
    return;
  }
  const readable = (await ctx.store.findByIds(ids)).filter(
    (doc) => canSee(principal, doc.pipeline) && mayRead(principal, doc.user),
  );
  for (const doc of readable) requireOwner(principal, doc.user, `work ${doc._id.toHexString()}`);
  await ctx.store.remove(readable.map((doc) => doc._id.toHexString()));
}

/** A work a bulk delete passes, and why. */
export interface Refusal {
  id: string;
  message: string;
  code: ErrorCode;
}

/**
 * Deletes, work by work, those of `ids` the token may delete (as DELETE /work checks each), and
 * answers the others with the reason: one refused work never keeps the rest from being deleted.
 */
export async function removeEach(
  ctx: ServiceContext,
  principal: Principal,
  ids: string[],
): Promise<Refusal[]> {
  requireScope(principal, "work:deposit");
  if (isAdmin(principal) && !principal.pipelines) {
    await ctx.store.remove(ids);
    return [];
  }
  const allowed: string[] = [];
  const refused: Refusal[] = [];
  for (const doc of await ctx.store.findByIds(ids)) {
    const id = doc._id.toHexString();
    if (!canSee(principal, doc.pipeline) || !mayRead(principal, doc.user)) continue;
    try {
      requireOwner(principal, doc.user, `work ${id}`);
      allowed.push(id);
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      refused.push({ id, message: error.message, code: error.code });
    }
  }
  await ctx.store.remove(allowed);
  return refused;
}
