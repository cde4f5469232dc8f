import {
  PipelineSchema,
  RESULT_STATUSES,
  ResultsCountRequestSchema,
  ResultsViewRequestSchema,
  type Work,
} from "@workflow/work";
import { isAdmin, requireOwner, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid, notFound, refuse } from "../errors.js";
import { presentResult, type ResultDoc, toObjectId } from "../store/index.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { parseIds } from "./remove.js";
import { parseWith, parseWork, requireArray, requireResultsWithinCap } from "./validate.js";
import { jsonArrayWithin, scopedQuery, toProjection } from "./views.js";

/**
 * The results store, as CHIME's results service: finished works kept for years, queried by
 * pipeline, event and tags. The same tokens, pipeline limits and query language as the queue.
 * Writing takes `work:deposit` (a non-admin writes only its own works), reading `work:read`.
 */

const where = (index: number) => `works[${index}]`;

/** A deposited or replaced work, checked as the queue checks a work, and finished. */
function toResult(principal: Principal, item: unknown, index: number, now: number): ResultDoc {
  const at = where(index);
  requireResultsWithinCap(item, at);
  const work = parseWork(item, at);
  if (work.id === undefined) {
    throw invalid(`${at}.id: a result keeps the id its work had in the queue; send it`);
  }
  if (!(RESULT_STATUSES as readonly string[]).includes(work.status)) {
    throw invalid(
      `${at}.status: only finished works are kept, with status ${RESULT_STATUSES.join(" or ")}, not "${work.status}"`,
    );
  }
  if (!isAdmin(principal) && principal.sub !== work.user) {
    throw refuse(
      "not_owner",
      `${at}.user: this token belongs to "${principal.sub}", who may keep only its own works, not "${work.user}"'s`,
    );
  }
  requirePipeline(principal, work.pipeline);
  const { id, ...rest } = work;
  return { ...(rest as Omit<Work, "id">), _id: toObjectId(id), deposited: now };
}

/**
 * POST /results: keeps finished works. A work already kept (a deposit repeated after a crash)
 * stays as it was: a work is never kept twice. Answers, per pipeline, true.
 */
export async function depositResults(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<Record<string, true>> {
  requireScope(principal, "work:deposit");
  const now = ctx.now();
  const docs = requireArray(body, "works", MAX_BATCH).map((item, i) =>
    toResult(principal, item, i, now),
  );
  const kept = await ctx.store.results.insertMissing(docs);
  ctx.logger.info({ inserted: kept.inserted, present: kept.present }, "results:kept");
  return Object.fromEntries(docs.map((doc) => [doc.pipeline, true as const]));
}

/**
 * PUT /results: replaces kept results. A locked one is replaced only by a replacement that unlocks
 * it (`results.locked: false`, CHIME's `unlock`); otherwise 409. All are checked before any is
 * written.
 */
export async function updateResults(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<true> {
  requireScope(principal, "work:deposit");
  const now = ctx.now();
  const docs = requireArray(body, "works", MAX_BATCH).map((item, i) =>
    toResult(principal, item, i, now),
  );
  const stored = new Map(
    (await ctx.store.results.findByIds(docs.map((d) => d._id))).map((d) => [
      d._id.toHexString(),
      d,
    ]),
  );
  const missing: string[] = [];
  const locked: string[] = [];
  const unlocking = docs.map((doc) => {
    const id = doc._id.toHexString();
    const old = stored.get(id);
    if (!old) {
      missing.push(id);
      return false;
    }
    requireOwner(principal, old.user, `result ${id}`);
    requirePipeline(principal, old.pipeline);
    const unlocks = doc.results?.locked === false;
    if (old.results?.locked === true && !unlocks) locked.push(id);
    doc.deposited = old.deposited;
    doc.updated = now;
    return unlocks;
  });
  if (missing.length > 0) {
    throw notFound(`no result with id ${missing.join(", ")}: keep it first (POST /results)`, {
      ids: missing,
    });
  }
  if (locked.length > 0) throw lockedError(locked, "changed");
  const lost: string[] = [];
  for (const [i, doc] of docs.entries()) {
    const kept = stored.get(doc._id.toHexString())?.pipeline ?? doc.pipeline;
    if (!(await ctx.store.results.replace(doc, unlocking[i] ?? false, kept))) {
      lost.push(doc._id.toHexString());
    }
  }
  if (lost.length > 0) throw lockedError(lost, "changed");
  return true;
}

const lockedError = (ids: string[], what: string) =>
  refuse(
    "locked",
    `results ${ids.join(", ")} are locked (results.locked: true) and cannot be ${what}: unlock them first (results.locked: false)`,
    { ids },
  );

/**
 * DELETE /results?<pipeline>=<id>: forgets results, each id within the pipeline named by its key.
 * Ids not kept are ignored, so a repeated delete succeeds; a locked result is refused (409) and
 * then nothing is deleted. Answers, per pipeline named, true (CHIME's tests read `{pipeline: True}`).
 */
export async function removeResults(
  ctx: ServiceContext,
  principal: Principal,
  params: Record<string, unknown>,
): Promise<Record<string, true>> {
  requireScope(principal, "work:deposit");
  const entries = Object.entries(params);
  if (entries.length === 0) {
    throw invalid("name what to delete: ?<pipeline>=<id>&<pipeline>=<id>");
  }
  const wanted = new Map<string, string>();
  for (const [key, raw] of entries) {
    const pipeline = PipelineSchema.safeParse(key);
    if (!pipeline.success) throw invalid(`query.${key}: not a pipeline name`);
    requirePipeline(principal, pipeline.data);
    for (const id of parseIds(raw)) wanted.set(id, pipeline.data);
  }
  if (wanted.size > MAX_BATCH) throw invalid(`at most ${MAX_BATCH} ids per request`);
  const found = await ctx.store.results.findByIds([...wanted.keys()].map(toObjectId));
  const mine = found.filter((doc) => wanted.get(doc._id.toHexString()) === doc.pipeline);
  const locked: string[] = [];
  for (const doc of mine) {
    requireOwner(principal, doc.user, `result ${doc._id.toHexString()}`);
    if (doc.results?.locked === true) locked.push(doc._id.toHexString());
  }
  if (locked.length > 0) throw lockedError(locked, "deleted");
  await ctx.store.results.remove(mine.map((doc) => doc._id));
  return Object.fromEntries([...new Set(wanted.values())].map((p) => [p, true as const]));
}

/** POST /view: kept results in id order, within the token's pipelines and the byte cap. */
export async function viewResults(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  maxBytes: number,
): Promise<string> {
  requireScope(principal, "work:read");
  const request = parseWith(ResultsViewRequestSchema, body ?? {}, "body");
  const projection = toProjection(request.projection ?? undefined);
  const skip = request.skip ?? 0;
  const docs = ctx.store.results.find(scopedQuery(principal, request.query), {
    projection,
    skip,
    limit: request.limit ?? 100,
  });
  return jsonArrayWithin(docs, presentResult, maxBytes, skip, false);
}

export async function countResults(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<number> {
  requireScope(principal, "work:read");
  const request = parseWith(ResultsCountRequestSchema, body ?? {}, "body");
  return ctx.store.results.count(scopedQuery(principal, request.query));
}

/** GET /status: how many results each pipeline has (CHIME's `workflow results count`). */
export async function resultCounts(
  ctx: ServiceContext,
  principal: Principal,
): Promise<Record<string, number>> {
  requireScope(principal, "work:read");
  return ctx.store.results.countByPipeline(principal.pipelines);
}
