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
 * Applies updates to stored works. Everything is checked before anything is written: a missing
 * work, a refused field or a forbidden change refuses the whole request. A worker's outcome for an
 * attempt that is no longer current is refused on its own (409 naming it) while the others are
 * recorded, so a zombie never overwrites a newer attempt and never holds back a batch of outcomes.
 * A failure with retries left goes back to the queue after a backoff.
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
  const refused: { id: string; reason: string }[] = [];
  const changes: Replacement[] = [];
  for (const patch of patches) {
    const doc = stored.get(patch.id) as WorkDoc;
    const standing = authorize(principal, doc, patch);
    if (standing === "current") changes.push(change(ctx, doc, patch));
    else if (standing === "stale") {
      refused.push({
        id: patch.id,
        reason: `work ${patch.id}: attempt ${patch.attempt} is no longer current (the work is at attempt ${doc.attempt}, ${doc.status})`,
      });
    }
  }
  const moved = new Set(await ctx.store.update(changes));
  const applied = changes.filter((c) => !moved.has(c._id.toHexString()));
  // Counted once written: a change that lost its race changed nothing.
  ctx.metrics.requeues.inc(
    applied.filter((c) => c.set.status === "queued" && Number(c.set.notBefore) > 0).length,
  );
  ctx.metrics.failures.inc(applied.filter((c) => c.set.status === "failure").length);
  if (applied.some((c) => c.set.status === "queued" && c.set.notBefore === 0)) {
    ctx.events.emit("work:queued");
  }
  for (const id of moved) {
    refused.push({ id, reason: `work ${id} changed while being updated; read it and retry` });
  }
  if (refused.length > 0) {
    const others = applied.length > 0 ? `; the other ${applied.length} were recorded` : "";
    throw conflict(`not recorded: ${refused.map((r) => r.reason).join("; ")}${others}`, {
      ids: refused.map((r) => r.id),
    });
  }
}

function parsePatch(item: unknown, index: number): Patch {
  const where = at(index);
  requireResultsWithinCap(item, where);
  const { id, attempt, ...fields } = parseWith(PatchHeadSchema, item, where);
  return { id, attempt: attempt ?? undefined, fields, where };
}

function change(ctx: ServiceContext, doc: WorkDoc, patch: Patch): Replacement {
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
  return {
    _id: doc._id,
    attempt: doc.attempt,
    status: doc.status,
    set: set as Partial<WorkDoc>,
    unset,
  };
}

/**
 * Who may change a work: an admin, its owner, or a worker holding it (running, or cancelled under
 * it: the worker then reports the cancel). A change that names an attempt which has ended (the
 * lease lapsed, another worker took it) is "stale": it must not be recorded.
 */
function authorize(
  principal: Principal,
  doc: WorkDoc,
  patch: Patch,
): "current" | "stale" | "recorded" {
  requirePipeline(principal, doc.pipeline);
  if (isAdmin(principal)) return "current";
  const { attempt } = patch;
  const owner = doc.user === principal.sub && hasScope(principal, "work:deposit");
  const worker = hasScope(principal, "work:withdraw");
  if (attempt !== undefined && attempt !== doc.attempt && (owner || worker)) return "stale";
  if (owner) return "current";
  if (worker) {
    const held =
      doc.status === "running" || (doc.status === "cancelled" && attempt === doc.attempt);
    if (held) return "current";
    if (attempt !== undefined) return isRetry(doc, patch) ? "recorded" : "stale";
  }
  throw forbidden(
    `work ${patch.id} belongs to "${doc.user}" and is ${doc.status}: only its owner, an admin, or a worker holding it may change it`,
  );
}

/**
 * A worker that lost the answer to its report sends it again: the attempt's history entry already
 * ends with this very outcome (same status, same stop), so there is nothing to do.
 */
function isRetry(doc: WorkDoc, patch: Patch): boolean {
  const entry = doc.history?.find((h) => h.attempt === patch.attempt);
  return (
    entry?.stop !== undefined &&
    entry.status === patch.fields.status &&
    entry.stop === patch.fields.stop
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
