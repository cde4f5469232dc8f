/**
 * Plans an update: which transition it is, what it writes and what it is guarded by. Nothing is
 * written here.
 */

import { type Work, WorkSchema, withoutStrategy, workKey } from "@workflow/work";
import { hasScope, isAdmin, mayRead } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { type ErrorCode, refuse, ServiceError } from "../errors.js";
import { allows, DEFINITION_FIELDS, OUTCOME_FIELDS, TRANSITIONS } from "../machine.js";
import { DEADLINE_GRACE_SECONDS, presentFields, type WorkDoc } from "../store/index.js";
import { ADMIN_SETTABLE, type AdminPart, adminPart, exhaustedRetries } from "./admin-fields.js";
import { type Changes, changesOf } from "./changes.js";
import type { ServiceContext } from "./context.js";
import {
  heldWhenCancelled,
  holds,
  isRetry,
  late,
  outcome,
  type Plan,
  replace,
  withoutStatus,
} from "./plan-kinds.js";
import { requireSite } from "./sites.js";
import { at, parseWith, requireResultsWithinCap } from "./validate.js";

export type { Plan } from "./plan-kinds.js";

/** What a worker may write, besides Slack's reply. */
const REPORTED = new Set<string>(OUTCOME_FIELDS);
const DEFINITION = new Set<string>(DEFINITION_FIELDS);
const NEVER = new Set(["pipeline", "user", "step", "matrix"]);
/** What an admin may move on a running work: its deadline follows. */
const RESCHEDULE = new Set(["start", "timeout"]);

/**
 * One item of PUT /work: which transition it asks for, and whether its sender may cause it. The
 * answer is a plan; nothing is written here. Refusals are thrown as the service's errors.
 */
export function planOf(
  ctx: ServiceContext,
  principal: Principal,
  doc: WorkDoc,
  item: unknown,
  attempt: number | undefined,
  index: number,
  now: number,
): Plan {
  const where = at(index);
  const id = doc._id.toHexString();
  requireResultsWithinCap(item, where);
  const current = presentFields(doc);
  const sent = Object.entries(item as Record<string, unknown>)
    .filter(([, value]) => value !== null)
    .map(([key]) => key);
  const merged = parseWith(WorkSchema, { ...current, ...(item as object) }, where);
  const before = parseWith(WorkSchema, current, `work ${id} as stored`);
  const changes = changesOf(sent, merged, before);
  const never = changes.fields.find((f) => NEVER.has(f));
  if (never) throw fieldRefused(id, never, `${never} never changes; deposit a new work instead`);
  const admin = adminPart(principal, changes, merged, before);
  const asked: Asked = { ctx, principal, doc, merged, changes, admin, now };
  if (changes.fields.includes("status")) return statusChange(asked, attempt);
  const reported = changes.fields.every((f) => REPORTED.has(f));
  const fromWorker = reported && hasScope(principal, "work:withdraw");
  if (fromWorker && changes.fields.length > 0 && heldWhenCancelled(doc, attempt)) {
    // Its worker stopped it and reports what it had (as `cancelled`).
    return late(doc, merged, changes);
  }
  if (fromWorker && holds(doc, attempt)) {
    if (changes.fields.length === 0 && !changes.reply) return { kind: "none" };
    return outcome(doc, merged, changes, "progress", attempt);
  }
  if (changes.fields.length === 0) {
    const replied = changes.reply && hasScope(principal, "work:withdraw");
    if (replied && (attempt ?? doc.attempt) === doc.attempt && allows("reply", doc.status)) {
      return outcome(doc, merged, changes, "reply", attempt);
    }
    return { kind: "none" };
  }
  return definitionChange(asked);
}

/** One PUT item as planned: who sent it, the stored work, the item over it and what it changes. */
interface Asked {
  ctx: ServiceContext;
  principal: Principal;
  doc: WorkDoc;
  merged: Work;
  changes: Changes;
  admin: AdminPart;
  now: number;
}

function statusChange(asked: Asked, attempt: number | undefined): Plan {
  const { principal, doc, merged, changes, admin } = asked;
  const id = doc._id.toHexString();
  const target = merged.status;
  switch (target) {
    case "success":
    case "failure": {
      if (!hasScope(principal, "work:withdraw")) {
        throw fieldRefused(id, "status", "an outcome is reported by the worker holding the work");
      }
      const other = admin.rest.contradicted.find((f) => !REPORTED.has(f));
      if (other) throw fieldRefused(id, other, reportsOnly(principal));
      const exhausts =
        isAdmin(principal) &&
        target === "failure" &&
        attempt !== undefined &&
        attempt > doc.attempt;
      const fenced = exhausts ? doc.attempt : (attempt ?? doc.attempt);
      if (fenced === doc.attempt && doc.status === "running") {
        const set = exhausts ? { ...admin.set, retries: exhaustedRetries(doc) } : admin.set;
        return outcome(
          doc,
          merged,
          changes,
          target === "success" ? "succeed" : "fail",
          fenced,
          set,
        );
      }
      if (heldWhenCancelled(doc, fenced)) return late(doc, merged, changes);
      if (isRetry(doc, fenced, merged)) return { kind: "none" };
      if (attempt === undefined) {
        throw fieldRefused(id, "status", `the work is ${doc.status}: no worker holds it`);
      }
      throw refuse(
        "attempt_stale",
        `work ${id}: attempt ${fenced} is no longer current (the work is at attempt ${doc.attempt}, ${doc.status})`,
        { id, attempt: fenced, current: doc.attempt, status: doc.status },
      );
    }
    case "queued": {
      requireOwnerOrAdmin(principal, doc, "status");
      if (!allows("requeue", doc.status)) {
        throw refuse(
          "wrong_status",
          `work ${id} is ${doc.status}: only finished works (${TRANSITIONS.requeue.from.join(", ")}) go back to the queue`,
        );
      }
      const rest = { ...admin, rest: withoutStatus(admin.rest) };
      const change = definitionChange({ ...asked, changes: withoutStatus(changes), admin: rest });
      const { key: _rekeyed, ...set } = change.kind === "replace" ? change.change.set : {};
      // Its key said what it computed before this change: a requeued work is keyed no more.
      const status = TRANSITIONS.requeue.to;
      return replace(doc, { ...set, status, notBefore: 0, uncounted: doc.attempt }, [
        "retryAt",
        "key",
        "cached",
      ]);
    }
    case "cancelled": {
      requireOwnerOrAdmin(principal, doc, "status");
      const other = changes.fields.find((f) => f !== "status");
      if (other) throw fieldRefused(id, other, "cancel a work on its own, then change it");
      return { kind: "cancel" };
    }
    default:
      throw refuse(
        "status_refused",
        target === "running"
          ? `work ${id}: only a claim (POST /work/withdraw) makes a work running, never a PUT`
          : `work ${id}: status ${target} is set by the service, never by a PUT`,
      );
  }
}

function definitionChange(asked: Asked): Plan {
  const { ctx, principal, doc, merged, changes, admin, now } = asked;
  const id = doc._id.toHexString();
  const [first] = changes.fields;
  if (first === undefined) return { kind: "none" };
  requireOwnerOrAdmin(principal, doc, first);
  const running = doc.status === "running";
  const { fields } = admin.rest;
  if (running && isAdmin(principal) && fields.every((f) => RESCHEDULE.has(f))) {
    if (fields.length === 0) return replace(doc, admin.set, []);
    return reschedule(doc, merged, now, admin.set);
  }
  const outside = fields.find((f) => !DEFINITION.has(f));
  if (outside) {
    throw fieldRefused(id, outside, `only ${DEFINITION_FIELDS.join(", ")} can be changed`);
  }
  if (running) {
    throw refuse(
      "wrong_status",
      `work ${id} is running: its ${fields[0] ?? first} can change only once it ends (or cancel it first)`,
    );
  }
  if (fields.includes("site")) requireSite(ctx, merged.site, `work ${id}`);
  const set: Partial<WorkDoc> = { ...admin.set };
  for (const field of fields) Object.assign(set, { [field]: merged[field as keyof Work] });
  if (set.config) set.config = withoutStrategy(merged.config);
  return replace(doc, set, rekey(doc, merged, set));
}

/**
 * A keyed work whose change alters what it computes: a success keeps its results, so its key
 * goes (it must not stand in for what it no longer is); a work yet to run outside a run gets the
 * key of its new definition (set in `set`). A run's work is keyed from its parents too: its key
 * goes, and the release or rerun that queues it again keys it. Answers the fields to unset.
 */
function rekey(doc: WorkDoc, merged: Work, set: Partial<WorkDoc>): string[] {
  if (doc.key === undefined || workKey(doc) === workKey(merged)) return [];
  const pending = doc.status === "created" || doc.status === "queued" || doc.status === "failure";
  if (pending && doc.run === undefined) {
    set.key = workKey(merged);
    return [];
  }
  return ["key"];
}

/** An admin moves a running work's start or timeout: its deadline (and lease) follow. */
function reschedule(doc: WorkDoc, merged: Work, now: number, also: Partial<WorkDoc>): Plan {
  const start = merged.start ?? now;
  const deadline = start + merged.timeout + DEADLINE_GRACE_SECONDS;
  const leaseUntil = doc.lease ? Math.min(now + doc.lease, deadline) : deadline;
  return replace(doc, { ...also, start, timeout: merged.timeout, deadline, leaseUntil }, []);
}

const reportsOnly = (principal: Principal) =>
  isAdmin(principal)
    ? `beside an outcome a worker reports only ${OUTCOME_FIELDS.join(", ")}, and an admin also sets ${ADMIN_SETTABLE.join(", ")}`
    : `a worker reports only ${OUTCOME_FIELDS.join(", ")}`;

function requireOwnerOrAdmin(principal: Principal, doc: WorkDoc, field: string): void {
  if (isAdmin(principal)) return;
  if (doc.user === principal.sub && hasScope(principal, "work:deposit")) return;
  const id = doc._id.toHexString();
  // A token that may not read the work is not told whose it is.
  const owner = mayRead(principal, doc.user) ? ` ("${doc.user}")` : "";
  throw fieldRefused(
    id,
    field,
    `only its owner${owner} or an admin may change it; this token is "${principal.sub}" with ${principal.scopes.join(", ")}`,
    "not_owner",
  );
}

function fieldRefused(
  id: string,
  field: string,
  why: string,
  code: ErrorCode = "field_refused",
): ServiceError {
  return new ServiceError(code, `work ${id}: field "${field}": ${why}`, {
    details: { id, field },
  });
}
