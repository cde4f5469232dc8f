import { BULK_PAGE_WORKS, BulkRequestSchema, type BulkResult } from "@workflow/work";
import { hasScope, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { commonCode, type ErrorCode, refuse, ServiceError } from "../errors.js";
import { type Query, toObjectId } from "../store/index.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { cancel } from "./lifecycle.js";
import { removeEach } from "./remove.js";
import { update } from "./update.js";
import { parseWith } from "./validate.js";
import { scopedQuery } from "./views.js";

/** Reasons kept in the answer: enough to see what went wrong, never a wall of them. */
const REASONS_SHOWN = 20;
/** Cancels in flight at once (each is its own conditional update, as the CLI's). */
const CANCEL_CONCURRENCY = 8;

/**
 * POST /work/bulk: retry (requeue), cancel or delete the works a query matches, one page of
 * BULK_PAGE_WORKS in id order (past `after`), and never when more match than the caller
 * confirmed. Each work goes through the service function its one-work request uses (PUT /work,
 * POST /work/:id/cancel, DELETE /work), so the transition table and the per-work authorization
 * (owner or admin, the token's pipelines) are the CLI's. A refused work never keeps the others
 * from being done, and is passed by the next page, which starts after it.
 */
export async function bulk(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<BulkResult> {
  requireScope(principal, "work:deposit");
  const request = parseWith(BulkRequestSchema, body ?? {}, "body");
  const query = matching(principal, request.query);
  const after = request.after ? toObjectId(request.after) : undefined;
  const past: Query = after ? { $and: [query, { _id: { $gt: after } }] } : query;
  const left = await ctx.store.count(past);
  if (left > request.confirmed) {
    const where = request.after ? `past ${request.after}` : "now";
    throw refuse(
      "unconfirmed",
      `${left} works match ${where}, more than the ${request.confirmed} confirmed: count again and confirm`,
      { confirmed: request.confirmed },
    );
  }
  const ids: string[] = [];
  for await (const doc of ctx.store.find(query, {
    projection: { _id: 1 },
    limit: BULK_PAGE_WORKS,
    ...(after ? { after } : {}),
  })) {
    if (doc._id) ids.push(doc._id.toHexString());
  }
  const result: BulkResult = { matched: ids.length, done: 0, refused: 0, reasons: [] };
  const codes = new Set<ErrorCode>();
  const noteRefusal = (n: number, message: string, id?: string, code: ErrorCode = "conflict") => {
    result.refused += n;
    codes.add(code);
    if (result.reasons.length < REASONS_SHOWN) result.reasons.push({ id, message });
  };
  switch (request.action) {
    case "retry":
      for (const chunk of chunks(ids, MAX_BATCH)) {
        const items = chunk.map((id) => ({ id, status: "queued" }));
        try {
          await update(ctx, principal, items);
          result.done += chunk.length;
        } catch (error) {
          const refused = refusedOf(error);
          result.done += refused.recorded;
          for (const r of refused.items) noteRefusal(1, r.message, r.id, r.code ?? refused.code);
        }
      }
      break;
    case "cancel": {
      let next = 0;
      const lane = async () => {
        while (next < ids.length) {
          const id = ids[next++] as string;
          try {
            await cancel(ctx, principal, id);
            result.done += 1;
          } catch (error) {
            if (!(error instanceof ServiceError)) throw error;
            noteRefusal(1, error.message, id, error.code);
          }
        }
      };
      await Promise.all(Array.from({ length: CANCEL_CONCURRENCY }, lane));
      break;
    }
    case "delete":
      for (const chunk of chunks(ids, MAX_BATCH)) {
        const refused = await removeEach(ctx, principal, chunk);
        result.done += chunk.length - refused.length;
        for (const r of refused) noteRefusal(1, r.message, r.id, r.code);
      }
      break;
  }
  if (ids.length === BULK_PAGE_WORKS) result.next = ids.at(-1);
  if (result.done === 0 && result.refused > 0 && !request.after && !result.next) {
    // Nothing done of the whole action: an error, as PUT /work answers when all its items are
    // refused. A page of a longer action answers its counts, so the pages after it still run.
    throw new ServiceError(
      commonCode([...codes]),
      `none of the ${result.matched} works was done: ${result.reasons
        .slice(0, 3)
        .map((r) => r.message)
        .join("; ")}`,
      { details: result },
    );
  }
  return result;
}

/**
 * A query limited to what the token may read (its pipelines; others' works only with work:read).
 */
function matching(principal: Principal, raw: unknown): Query {
  const scoped = scopedQuery(principal, raw);
  // Without work:read only the caller's own works match: the count never tells of others'.
  return hasScope(principal, "work:read") ? scoped : { $and: [scoped, { user: principal.sub }] };
}

/** PUT /work's refusal, item by item (its details), or whole when it has none. */
function refusedOf(error: unknown): {
  recorded: number;
  code: ErrorCode;
  items: { id?: string; message: string; code?: ErrorCode }[];
} {
  if (!(error instanceof ServiceError)) throw error;
  const details = error.details as
    | { recorded?: number; refused?: { id?: string; message: string; code?: ErrorCode }[] }
    | undefined;
  return {
    recorded: details?.recorded ?? 0,
    code: error.code,
    items: details?.refused ?? [{ message: error.message }],
  };
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let at = 0; at < items.length; at += size) out.push(items.slice(at, at + size));
  return out;
}
