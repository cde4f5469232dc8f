/** Deposits: each work checked and given the service's own fields, then stored in one insert. */

import { hash } from "node:crypto";
import { type Work, withoutStrategy } from "@workflow/work";
import { isAdmin, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { refuse, ServiceError } from "../errors.js";
import { TRANSITIONS } from "../machine.js";
import {
  freshObjectId,
  newId,
  type Oversized,
  oversizedMessage,
  StoreError,
  toObjectId,
  type WorkDoc,
} from "../store/index.js";
import { keyAndReuse } from "./cache.js";
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
  "key",
  "cached",
  "keyExpired",
  "step",
  "matrix",
]);

/**
 * A work may name neither a function nor a command: CHIME's workers run in static mode (`workflow
 * run --function` or `--command`) and supply what to run. This project's client is where a work
 * with nothing to run is caught, unless its caller says the workers supply it.
 */
export interface DepositOptions {
  /** Check every rule and answer the ids, storing nothing (a schedule's target, when it is added). */
  dryRun?: boolean;
}

/**
 * Stores new works as `queued` (claimable from `notBefore`, when given), or as the success that
 * stands for them when their `cache` allows it (./cache.ts). Answers their ids in order.
 */
export async function deposit(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  options: DepositOptions = {},
): Promise<string[]> {
  requireScope(principal, "work:deposit");
  const items = requireArray(body, "works", MAX_BATCH);
  const stamp = { received: ctx.now(), incarnation: freshObjectId() };
  const docs = items.map((item, index) => toDoc(ctx, principal, item, index, stamp));
  if (options.dryRun) return docs.map((doc) => doc._id.toHexString());
  await keyAndReuse(
    ctx,
    docs.map((doc) => ({ work: doc, into: doc })),
  );
  await ctx.store.deposit(docs).catch((error: unknown) => {
    throw placed(error) ?? error;
  });
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued", [...new Set(docs.map((doc) => doc.pipeline))]);
  return docs.map((doc) => doc._id.toHexString());
}

/** The store's refusal of works too large for MongoDB, naming them as the request does. */
function placed(error: unknown): ServiceError | undefined {
  if (!(error instanceof StoreError) || error.failure !== "too_large") return undefined;
  const { oversized } = (error.details ?? {}) as { oversized?: Oversized[] };
  if (!oversized?.length) return undefined;
  const named = oversized.map((o) => ({ ...o, name: `${at(o.index)} (id ${o.id})` }));
  return new ServiceError("too_large", oversizedMessage(named), { details: { oversized } });
}

function toDoc(
  ctx: ServiceContext,
  principal: Principal,
  item: unknown,
  index: number,
  stamp: Pick<WorkDoc, "received" | "incarnation">,
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
  // Only a depositor's own id can come back in a retried request; when and by which deposit it
  // was received is not part of what it says.
  if (work.id !== undefined) doc.digest = digestOf(doc);
  return Object.assign(doc, {
    _id: toObjectId(work.id ?? newId()),
    notBefore: work.notBefore ?? 0,
    received: stamp.received,
    incarnation: stamp.incarnation,
  });
}

/** A token deposits as its own user; only an admin deposits for others. */
function requireDepositor(principal: Principal, user: string, where: string): void {
  if (isAdmin(principal) || principal.sub === user) return;
  throw refuse(
    "not_owner",
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
