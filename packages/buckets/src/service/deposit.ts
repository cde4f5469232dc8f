import { hash } from "node:crypto";
import { type Work, withoutStrategy } from "@workflow/work";
import { isAdmin, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { forbidden, invalid } from "../errors.js";
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

export interface DepositOptions {
  /**
   * The workers of these works supply what to run themselves (`workflow run --function` or
   * `--command`, CHIME's static mode): a work may then name neither.
   */
  static?: boolean;
  /** Check every rule and answer the ids, storing nothing (a schedule's target, when it is added). */
  dryRun?: boolean;
}

/** Stores new works as `queued` (claimable from `notBefore`, when given). Answers their ids in order. */
export async function deposit(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  options: DepositOptions = {},
): Promise<string[]> {
  requireScope(principal, "work:deposit");
  const items = requireArray(body, "works", MAX_BATCH);
  const received = ctx.now();
  const docs = items.map((item, index) => {
    const doc = toDoc(ctx, principal, item, index, received);
    if (!options.static) requireSomethingToRun(doc, at(index));
    return doc;
  });
  if (options.dryRun) return docs.map((doc) => doc._id.toHexString());
  await ctx.store.deposit(docs);
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued", [...new Set(docs.map((doc) => doc.pipeline))]);
  return docs.map((doc) => doc._id.toHexString());
}

/** A work that names neither a function nor a command fails every attempt, unless workers supply one. */
function requireSomethingToRun(doc: Pick<WorkDoc, "function" | "command">, where: string): void {
  if (doc.function !== undefined || doc.command !== undefined) return;
  throw invalid(
    `${where} names neither a function nor a command, so nothing would run it: name one, or deposit with ?static=true (workflow deposit --static) when the workers of this pipeline supply their own (workflow run --function or --command)`,
  );
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
  requireDepositor(principal, work.user, where);
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

/** A token deposits as its own user; only an admin deposits for others. */
function requireDepositor(principal: Principal, user: string, where: string): void {
  if (isAdmin(principal) || principal.sub === user) return;
  throw forbidden(
    `${where}.user: this token belongs to "${principal.sub}", who may deposit only as "${principal.sub}", not as "${user}"; set user to "${principal.sub}", or ask an admin to deposit for "${user}"`,
  );
}

/**
 * Same content, same digest: a retried deposit recognises itself. The one-shot `hash` gives the
 * same digest as a Hash object per work, with less to allocate.
 */
function digestOf(content: object): string {
  return hash("sha256", JSON.stringify(content), "base64url");
}
