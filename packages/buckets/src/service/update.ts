import {
  type HistoryEntry,
  ObjectIdSchema,
  type Status,
  type Work,
  WorkSchema,
} from "@workflow/work";
import { z } from "zod";
import { hasScope, isAdmin, requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { conflict, forbidden, notFound } from "../errors.js";
import { present, type Replacement, type WorkDoc } from "../store/index.js";
import { backoffSeconds } from "./backoff.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { at, parseWith, requireArray, requireResultsWithinCap } from "./validate.js";

/** An update names its work and, from a worker, the attempt it reports on. */
const PatchHeadSchema = z.looseObject({
  id: ObjectIdSchema,
  attempt: z.int().min(0).nullish(),
});

/** Fields nobody edits through PUT: the service keeps them. */
const KEPT = new Set(["id", "attempt", "history", "leaseUntil", "notBefore"]);
const FINAL: ReadonlySet<Status> = new Set(["success", "failure", "cancelled"]);

interface Patch {
  id: string;
  attempt: number | undefined;
  fields: Record<string, unknown>;
  where: string;
}

/**
 * Applies updates to stored works. A worker's outcome for an attempt that is no longer current is
 * refused (409), so a zombie never overwrites a newer attempt. A failure with retries left goes
 * back to the queue after a backoff.
 */
export async function update(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<void> {
  requireScope(principal, "work:deposit", "work:withdraw");
  const patches = requireArray(body, "works", MAX_BATCH).map(parsePatch);
  const stored = new Map(
    (await ctx.store.findByIds(patches.map((p) => p.id))).map((d) => [d._id.toHexString(), d]),
  );
  const missing = patches.filter((p) => !stored.has(p.id)).map((p) => p.id);
  if (missing.length > 0) {
    throw notFound(`no works with ids: ${missing.join(", ")}`, { ids: missing });
  }
  const changes = patches.map((patch) =>
    change(ctx, principal, stored.get(patch.id) as WorkDoc, patch),
  );
  const moved = await ctx.store.update(changes);
  const applied = changes.filter((c) => !moved.includes(c._id.toHexString()));
  // Counted once written: a change that lost its race changed nothing.
  ctx.metrics.requeues.inc(
    applied.filter((c) => c.set.status === "queued" && Number(c.set.notBefore) > 0).length,
  );
  ctx.metrics.failures.inc(applied.filter((c) => c.set.status === "failure").length);
  if (applied.some((c) => c.set.status === "queued" && c.set.notBefore === 0)) {
    ctx.events.emit("work:queued");
  }
  if (moved.length > 0) {
    throw conflict(`works changed while being updated: ${moved.join(", ")}; read them and retry`, {
      ids: moved,
    });
  }
}

function parsePatch(item: unknown, index: number): Patch {
  const where = at(index);
  requireResultsWithinCap(item, where);
  const { id, attempt, ...fields } = parseWith(PatchHeadSchema, item, where);
  return { id, attempt: attempt ?? undefined, fields, where };
}

function change(
  ctx: ServiceContext,
  principal: Principal,
  doc: WorkDoc,
  patch: Patch,
): Replacement {
  const id = patch.id;
  authorize(principal, doc, id, patch.attempt);
  if (patch.attempt !== undefined && patch.attempt !== doc.attempt && !isAdmin(principal)) {
    throw conflict(
      `work ${id}: attempt ${patch.attempt} is no longer current (it is at attempt ${doc.attempt}); this outcome was not recorded`,
      { id, attempt: patch.attempt, current: doc.attempt },
    );
  }
  const { id: _id, ...current } = present(doc);
  const merged: Work = parseWith(WorkSchema, { ...current, ...patch.fields }, patch.where);
  const set: Record<string, unknown> = {};
  for (const key of Object.keys(patch.fields)) {
    if (!KEPT.has(key)) set[key] = merged[key as keyof Work];
  }
  if (set.config) {
    const { strategy: _strategy, ...config } = merged.config;
    set.config = config;
  }
  const unset: string[] = [];
  const status = set.status as Status | undefined;
  if (status && status !== doc.status) {
    Object.assign(set, transition(ctx, doc, merged, status));
    if (status !== "running") unset.push("leaseUntil", "deadline");
    if (status === "queued") unset.push("givenUp");
  }
  return { _id: doc._id, attempt: doc.attempt, set: set as Partial<WorkDoc>, unset };
}

/**
 * Who may change a work: an admin, its owner, or a worker holding it (running, or cancelled under
 * it: the worker then reports the cancel).
 */
function authorize(
  principal: Principal,
  doc: WorkDoc,
  id: string,
  attempt: number | undefined,
): void {
  requirePipeline(principal, doc.pipeline);
  if (isAdmin(principal)) return;
  if (doc.user === principal.sub && hasScope(principal, "work:deposit")) return;
  const held = doc.status === "running" || (doc.status === "cancelled" && attempt === doc.attempt);
  if (held && hasScope(principal, "work:withdraw")) return;
  throw forbidden(
    `work ${id} belongs to "${doc.user}" and is ${doc.status}: only its owner, an admin, or a worker holding it may change it`,
  );
}

/** The fields that follow from a status change: the attempt's history, and a retry's backoff. */
function transition(
  ctx: ServiceContext,
  doc: WorkDoc,
  work: Work,
  status: Status,
): Partial<WorkDoc> {
  const now = ctx.now();
  if (status === "queued") return { notBefore: 0 };
  if (doc.status !== "running" || !FINAL.has(status)) return {};
  const stop = work.stop ?? now;
  const error = status === "failure" ? errorOf(work.results) : undefined;
  const history = closeAttempt(doc.history ?? [], doc.attempt, { stop, status, error });
  if (status === "failure" && doc.attempt <= work.retries) {
    return { status: "queued", stop, history, notBefore: now + backoffSeconds(doc.attempt) };
  }
  return { stop, history };
}

export function closeAttempt(
  history: HistoryEntry[],
  attempt: number,
  end: { stop: number; status: HistoryEntry["status"]; error?: string | undefined },
): HistoryEntry[] {
  return history.map((entry) =>
    entry.attempt === attempt
      ? { ...entry, stop: end.stop, status: end.status, ...(end.error ? { error: end.error } : {}) }
      : entry,
  );
}

function errorOf(results: Work["results"]): string | undefined {
  const error = results?.error;
  if (error === undefined || error === null) return undefined;
  return (typeof error === "string" ? error : JSON.stringify(error)).slice(0, 1000);
}
