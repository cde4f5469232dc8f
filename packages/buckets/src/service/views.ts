/**
 * Read-only views of the queue: queries scoped to a token's pipelines, answers bounded in bytes,
 * counts.
 */

import {
  CountRequestSchema,
  type PipelineDetails,
  PipelineSchema,
  STATUSES,
  type Status,
  type StatusCounts,
  ViewRequestSchema,
} from "@workflow/work";
import { requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid, refuse } from "../errors.js";
import { compileQuery, VIEW_FIELDS, VIEW_OPEN_PREFIXES } from "../query.js";
import { presentPlaced, type Query, toObjectId, type WorkDoc } from "../store/index.js";
import type { ServiceContext } from "./context.js";
import { parseWith } from "./validate.js";

function viewQuery(principal: Principal, raw: unknown): Query {
  requireScope(principal, "work:read");
  return scopedQuery(principal, raw);
}

/** Compiles a client's query, limited to the token's pipelines when it has that claim. */
export function scopedQuery(principal: Principal, raw: unknown): Query {
  const query = compileQuery(raw ?? {}, {
    fields: VIEW_FIELDS,
    openPrefixes: VIEW_OPEN_PREFIXES,
    toId: toObjectId,
  });
  return principal.pipelines
    ? { $and: [query, { pipeline: { $in: principal.pipelines } }] }
    : query;
}

/**
 * The matching works as a JSON array, read from the cursor one work at a time and refused with a
 * 413 once past `maxBytes`: memory holds at most that much, whatever `limit` says.
 */
export async function view(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  maxBytes: number,
): Promise<string> {
  const request = parseWith(ViewRequestSchema, body ?? {}, "body");
  const query = viewQuery(principal, request.query);
  const projection = toProjection(request.projection ?? undefined);
  const skip = request.skip ?? 0;
  if (request.order === "arrival") {
    if (request.after)
      throw invalid('after pages works in id order: with order "arrival" use before');
    const { before } = request;
    const docs = ctx.store.find(query, {
      ...(projection ? { projection: withArrival(projection) } : {}),
      newest: true,
      ...(before ? { before: { received: before.arrived, id: toObjectId(before.id) } } : {}),
      skip,
      limit: request.limit ?? 100,
    });
    const show = (doc: Partial<WorkDoc>) => ({ ...presentPlaced(doc), arrived: doc.received ?? 0 });
    return jsonArrayWithin(docs, show, maxBytes, skip, false);
  }
  if (request.before) throw invalid('before pages works by arrival: send order "arrival" with it');
  const docs = ctx.store.find(query, {
    ...(projection ? { projection } : {}),
    ...(request.after ? { after: toObjectId(request.after) } : {}),
    skip,
    limit: request.limit ?? 100,
  });
  return jsonArrayWithin(docs, presentPlaced, maxBytes, skip);
}

/** A projection that keeps when each work arrived: the cursor of a page by arrival. */
function withArrival(projection: Record<string, 0 | 1>): Record<string, 0 | 1> {
  // toProjection sets `_id: 1` only in an inclusion: any 1 means the fields are listed.
  const including = Object.values(projection).some((v) => v === 1);
  if (including) return { ...projection, received: 1 };
  const { received: _, ...rest } = projection;
  return rest;
}

/**
 * Documents as one JSON array, read one at a time and refused with a 413 once past `maxBytes`:
 * memory holds at most that much, whatever the request's limit says.
 */
export async function jsonArrayWithin<D extends { _id?: { toHexString(): string } }>(
  docs: AsyncIterable<D>,
  show: (doc: D) => unknown,
  maxBytes: number,
  skip: number,
  /** Whether the request may page with `after` (the results store pages with `skip` only). */
  pagesAfter = true,
): Promise<string> {
  const parts: string[] = [];
  let bytes = 2;
  let lastId: string | undefined;
  for await (const doc of docs) {
    const part = JSON.stringify(show(doc));
    bytes += Buffer.byteLength(part) + 1;
    if (bytes > maxBytes) {
      const next = lastId && pagesAfter ? `after=${lastId}` : `skip=${skip + parts.length}`;
      throw refuse(
        "answer_too_large",
        `the answer would be over ${formatBytes(maxBytes)} after ${parts.length} works: ask for fewer fields (projection) or fewer works (limit), and page (next: ${next})`,
      );
    }
    parts.push(part);
    lastId = doc._id?.toHexString();
  }
  return `[${parts.join(",")}]`;
}

function formatBytes(bytes: number): string {
  return `${+(bytes / 1024 / 1024).toFixed(2)} MB`;
}

export async function count(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<number> {
  const request = parseWith(CountRequestSchema, body ?? {}, "body");
  return ctx.store.count(viewQuery(principal, request.query));
}

/**
 * A projection over allowed fields, all included or all excluded. `_id` is ignored (CHIME's client
 * sends `{"_id": false}`): works always carry their `id`.
 */
export function toProjection(
  raw: Record<string, boolean | 0 | 1> | undefined,
): Record<string, 0 | 1> | undefined {
  if (!raw) return undefined;
  // `_id` is MongoDB's; CHIME's client always sends `{"_id": false}`. A work's `id` is a field
  // like the others.
  const entries = Object.entries(raw).filter(([key]) => key !== "_id");
  if (entries.length === 0) return undefined;
  const fields = entries.filter(([key]) => key !== "id");
  // Checking each key as a query field reuses the allow-list (and its messages).
  compileQuery(
    Object.fromEntries(fields.map(([key]) => [key, { $exists: true }])),
    {
      fields: VIEW_FIELDS,
      openPrefixes: VIEW_OPEN_PREFIXES,
      toId: toObjectId,
    },
    "projection",
  );
  const include = fields.map(([, v]) => Boolean(v));
  if (include.some((v) => v !== include[0])) {
    throw invalid("projection: include fields (1/true) or exclude them (0/false), not both");
  }
  const projection: Record<string, 0 | 1> = Object.fromEntries(
    fields.map(([key, v]) => [key, v ? 1 : 0]),
  );
  const including = include[0] ?? Boolean(raw.id);
  // Named, `id` decides. Else it comes as MongoDB's `_id` would: with an inclusion unless
  // `_id: false`, and always with an exclusion.
  const mongoId = raw._id === undefined ? true : Boolean(raw._id);
  const keepId = raw.id === undefined ? !including || mongoId : Boolean(raw.id);
  if (including || !keepId) projection._id = keepId ? 1 : 0;
  return projection;
}

export async function status(ctx: ServiceContext, principal: Principal): Promise<StatusCounts> {
  requireScope(principal, "work:read");
  return withTotal(await ctx.store.countByStatus(principal.pipelines));
}

export async function pipelines(ctx: ServiceContext, principal: Principal): Promise<string[]> {
  requireScope(principal, "work:read");
  return ctx.store.listPipelines(principal.pipelines);
}

export async function details(
  ctx: ServiceContext,
  principal: Principal,
  pipeline: unknown,
  { all = false }: { all?: boolean } = {},
): Promise<PipelineDetails> {
  requireScope(principal, "work:read");
  const name = parseWith(PipelineSchema, pipeline, "pipeline");
  requirePipeline(principal, name);
  const counts = withTotal(await ctx.store.countByStatus([name]));
  if (all) return counts;
  // Exactly these, in this order: CHIME's CLI fills its table's columns from them.
  const { total, queued, running, success, failure } = counts;
  return { total, queued, running, success, failure };
}

function withTotal(counts: Partial<Record<Status, number>>): StatusCounts {
  const all = Object.fromEntries(STATUSES.map((s) => [s, counts[s] ?? 0])) as Record<
    Status,
    number
  >;
  return { total: Object.values(all).reduce((a, b) => a + b, 0), ...all };
}
