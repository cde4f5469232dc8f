/**
 * The plans one item of PUT /work can come to (./plan.ts decides which), and the facts about a
 * work's attempts they are decided by. Nothing is written here.
 */
import { hasRetriesLeft, type Work } from "@workflow/work";
import { refuse } from "../errors.js";
import type { Outcome, Replacement, WorkDoc } from "../store/index.js";
import type { Changes } from "./changes.js";

/** What one item of PUT /work comes to. */
export type Plan =
  | { kind: "outcome"; outcome: Outcome; final: boolean }
  | { kind: "replace"; change: Replacement }
  | { kind: "cancel" }
  | { kind: "none" };

export function outcome(
  doc: WorkDoc,
  merged: Work,
  changes: Changes,
  transition: Outcome["transition"],
  attempt: number | undefined,
  admin: Partial<WorkDoc> = {},
): Plan {
  const wrote = (field: string) => changes.fields.includes(field);
  const error = merged.results?.error;
  return {
    kind: "outcome",
    final:
      transition === "fail" && !hasRetriesLeft({ ...doc, retries: admin.retries ?? doc.retries }),
    outcome: {
      _id: doc._id,
      pipeline: doc.pipeline,
      attempt: attempt ?? doc.attempt,
      transition,
      stop: wrote("stop") ? merged.stop : undefined,
      results: wrote("results") ? merged.results : undefined,
      products: wrote("products") ? merged.products : undefined,
      plots: wrote("plots") ? merged.plots : undefined,
      archive: wrote("archive") ? merged.archive : undefined,
      reply: changes.reply,
      ...(Object.keys(admin).length > 0 ? { admin } : {}),
      error:
        error === undefined || error === null
          ? undefined
          : (typeof error === "string" ? error : JSON.stringify(error)).slice(0, 1000),
    },
  };
}

/**
 * The outcome that the worker of a work cancelled under it reports: one only. The same one sent
 * again (its answer was lost) is no change; another is refused.
 */
export function late(doc: WorkDoc, merged: Work, changes: Changes): Plan {
  const reported = doc.claim?.late;
  if (reported === undefined) return outcome(doc, merged, changes, "late", doc.attempt);
  if (reported === merged.stop) return { kind: "none" };
  const id = doc._id.toHexString();
  throw refuse(
    "already_reported",
    `work ${id}: the late outcome of attempt ${doc.attempt} was already reported; it is recorded once`,
    { id, attempt: doc.attempt, status: doc.status },
  );
}

export function replace(doc: WorkDoc, set: Partial<WorkDoc>, unset: string[]): Plan {
  return {
    kind: "replace",
    change: {
      _id: doc._id,
      pipeline: doc.pipeline,
      attempt: doc.attempt,
      status: doc.status,
      set,
      unset,
    },
  };
}

/** A worker holds a work while it runs at the attempt the worker names. */
export const holds = (doc: WorkDoc, attempt: number | undefined) =>
  doc.status === "running" && (attempt ?? doc.attempt) === doc.attempt;

/**
 * The attempt named was running when the work was cancelled (the cancel closed its history entry
 * as cancelled): its worker may still report what it had.
 */
export const heldWhenCancelled = (doc: WorkDoc, attempt: number | undefined) =>
  doc.status === "cancelled" &&
  (attempt ?? doc.attempt) === doc.attempt &&
  doc.history?.find((h) => h.attempt === doc.attempt)?.status === "cancelled";

export const withoutStatus = (changes: Changes): Changes => ({
  ...changes,
  fields: changes.fields.filter((f) => f !== "status"),
});

/**
 * A worker that lost the answer to its report sends it again: the attempt's history entry already
 * ends with this very outcome (same status, same stop), so there is nothing to do.
 */
export function isRetry(doc: WorkDoc, attempt: number, merged: Work): boolean {
  const entry = doc.history?.find((h) => h.attempt === attempt);
  return entry?.stop !== undefined && entry.status === merged.status && entry.stop === merged.stop;
}
