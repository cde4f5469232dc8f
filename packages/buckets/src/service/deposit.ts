import { createHash } from "node:crypto";
import type { Work } from "@workflow/work";
import { requireOwner, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { newId, toObjectId, type WorkDoc } from "../store/index.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { at, parseWork, requireArray, requireResultsWithinCap } from "./validate.js";

/** Fields the service owns: whatever a depositor sends for them is replaced. */
const SERVICE_FIELDS = ["start", "stop", "history", "leaseUntil", "notBefore"] as const;

/** Stores new works as `queued`. Answers their ids in order. */
export async function deposit(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<string[]> {
  requireScope(principal, "work:deposit");
  const items = requireArray(body, "works", MAX_BATCH);
  const docs = items.map((item, index) => toDoc(ctx, principal, item, index));
  await ctx.store.deposit(docs);
  ctx.metrics.deposits.inc(docs.length);
  ctx.events.emit("work:queued");
  return docs.map((doc) => doc._id.toHexString());
}

function toDoc(ctx: ServiceContext, principal: Principal, item: unknown, index: number): WorkDoc {
  const where = at(index);
  requireResultsWithinCap(item, where);
  const work = parseWork(item, where);
  requireOwner(principal, work.user, `${where} (user "${work.user}")`);
  requirePipeline(principal, work.pipeline);
  const sites = ctx.workspace?.sites;
  if (sites && !sites.includes(work.site)) {
    throw invalid(
      `${where}.site: "${work.site}" is not a site of this service; allowed sites: ${sites.join(", ")}`,
    );
  }
  const { id, config, ...fields } = work;
  const { strategy: _strategy, ...storedConfig } = config;
  for (const field of SERVICE_FIELDS) delete fields[field];
  const content = { ...fields, config: storedConfig, status: "queued" as const, attempt: 0 };
  return {
    _id: toObjectId(id ?? newId()),
    ...content,
    notBefore: 0,
    digest: digestOf(content),
  };
}

/** Same content, same digest: a retried deposit recognises itself. */
function digestOf(content: Omit<Work, "id" | "config"> & { config: object }): string {
  return createHash("sha256").update(JSON.stringify(content)).digest("base64url");
}
