import { createHash } from "node:crypto";
import { type Work, withoutStrategy } from "@workflow/work";
import { requireOwner, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { TRANSITIONS } from "../machine.js";
import { newId, toObjectId, type WorkDoc } from "../store/index.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { requireSite } from "./sites.js";
import { at, parseWork, requireArray, requireResultsWithinCap } from "./validate.js";

/** Fields the service sets itself, or stores in its own shape: never copied as sent. */
const NOT_COPIED = new Set([
  "id",
  "config",
  "status",
  "attempt",
  "start",
  "stop",
  "history",
  "leaseUntil",
  "notBefore",
  "retryAt",
  "uncounted",
]);

/** Stores new works as `queued` (claimable from `notBefore`, when given). Answers their ids in order. */
export async function deposit(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<string[]> {
  requireScope(principal, "work:deposit");
  const items = requireArray(body, "works", MAX_BATCH);
  const received = ctx.now();
  const docs = items.map((item, index) => toDoc(ctx, principal, item, index, received));
  await ctx.store.deposit(docs);
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued");
  return docs.map((doc) => doc._id.toHexString());
}

function toDoc(
  ctx: ServiceContext,
  principal: Principal,
  item: unknown,
  index: number,
  received: number,
): WorkDoc {
  const where = at(index);
  requireResultsWithinCap(item, where);
  const work = parseWork(item, where);
  requireOwner(principal, work.user, `${where} (user "${work.user}")`);
  requirePipeline(principal, work.pipeline);
  requireSite(ctx, work.site, where);
  // Copied key by key: rest and spread would make a dictionary-mode object, which JSON.stringify
  // and BSON serialise several times slower (11 against 3 µs a work, digest included).
  const content: Record<string, unknown> = {};
  for (const key in work) if (!NOT_COPIED.has(key)) content[key] = work[key as keyof Work];
  content.config = withoutStrategy(work.config);
  content.status = TRANSITIONS.deposit.to;
  content.attempt = 0;
  const doc = content as Omit<WorkDoc, "_id" | "notBefore">;
  // Only a depositor's own id can come back in a retried request; the time it was received is
  // not part of what it says.
  if (work.id !== undefined) doc.digest = digestOf(doc);
  return Object.assign(doc, {
    _id: toObjectId(work.id ?? newId()),
    notBefore: work.notBefore ?? 0,
    received,
  });
}

/** Same content, same digest: a retried deposit recognises itself. */
function digestOf(content: object): string {
  return createHash("sha256").update(JSON.stringify(content)).digest("base64url");
}
