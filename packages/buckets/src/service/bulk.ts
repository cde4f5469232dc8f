import { BulkRequestSchema, type BulkResult, MAX_BULK_WORKS } from "@workflow/work";
import { hasScope, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { conflict, type ErrorCode, ServiceError, tooLarge } from "../errors.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { cancel } from "./lifecycle.js";
import { remove } from "./remove.js";
import { update } from "./update.js";
import { parseWith } from "./validate.js";
import { scopedQuery } from "./views.js";

/** Reasons kept in the answer: enough to see what went wrong, never a wall of them. */
const REASONS_SHOWN = 20;
/** Cancels in flight at once (each is its own conditional update, as the CLI's). */
const CANCEL_CONCURRENCY = 8;

/**
 * POST /work/bulk: retry (requeue), cancel or delete the works a query matches, at most
 * MAX_BULK_WORKS of them and never more than the caller confirmed. Each work goes through the
 * service function its one-work request uses (PUT /work, POST /work/:id/cancel, DELETE /work), so
 * the transition table and the per-work authorization (owner or admin, the token's pipelines) are
 * the CLI's. A refused work never keeps the others from being done.
 */
export async function bulk(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<BulkResult> {
  requireScope(principal, "work:deposit");
  const request = parseWith(BulkRequestSchema, body ?? {}, "body");
  const ids = await matching(ctx, principal, request.query);
  if (ids.length > request.confirmed) {
    throw conflict(
      `${ids.length} works match now, more than the ${request.confirmed} confirmed: count again and confirm`,
      { confirmed: request.confirmed },
    );
  }
  const result: BulkResult = { matched: ids.length, done: 0, refused: 0, reasons: [] };
  const codes = new Set<ErrorCode>();
  const refuse = (n: number, message: string, id?: string, code: ErrorCode = "conflict") => {
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
          for (const r of refused.items) refuse(1, r.message, r.id, r.code ?? refused.code);
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
            refuse(1, error.message, id, error.code);
          }
        }
      };
      await Promise.all(Array.from({ length: CANCEL_CONCURRENCY }, lane));
      break;
    }
    case "delete":
      for (const chunk of chunks(ids, MAX_BATCH)) {
        try {
          await remove(ctx, principal, chunk);
          result.done += chunk.length;
        } catch (error) {
          if (!(error instanceof ServiceError)) throw error;
          // DELETE /work is all or nothing: the whole request is refused, as the CLI's would be.
          refuse(chunk.length, error.message, undefined, error.code);
        }
      }
      break;
  }
  if (result.done === 0 && result.refused > 0) {
    // Nothing done: an error, as PUT /work answers when all its items are refused.
    const [code] = codes.size === 1 ? [...codes] : ["conflict" as const];
    throw new ServiceError(
      code ?? "conflict",
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
 * The ids a query matches within what the token may read (its pipelines; others' works only with
 * work:read), in id order, one past the bound at most.
 */
async function matching(
  ctx: ServiceContext,
  principal: Principal,
  raw: unknown,
): Promise<string[]> {
  const scoped = scopedQuery(principal, raw);
  // Without work:read only the caller's own works match: the count never tells of others'.
  const query = hasScope(principal, "work:read")
    ? scoped
    : { $and: [scoped, { user: principal.sub }] };
  const ids: string[] = [];
  for await (const doc of ctx.store.find(query, {
    projection: { _id: 1 },
    limit: MAX_BULK_WORKS + 1,
  })) {
    if (doc._id) ids.push(doc._id.toHexString());
  }
  if (ids.length > MAX_BULK_WORKS) {
    throw tooLarge(
      `over ${MAX_BULK_WORKS} works match: a bulk action takes at most ${MAX_BULK_WORKS}; narrow the filter`,
    );
  }
  return ids;
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
