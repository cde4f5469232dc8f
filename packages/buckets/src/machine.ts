/**
 * The transition table: every change of a work's status, who may cause it and what it writes. The
 * store, README and dashboard read it.
 */

import type { Status } from "@workflow/work";
// The statuses alone, not the package's index: the dashboard's bundle imports this table too.
import {
  CANCELLABLE_STATUSES,
  REQUEUABLE_STATUSES,
  STATUSES,
  UNFINISHED_STATUSES,
} from "@workflow/work/statuses";

/**
 * Who causes a transition. `worker`: the attempt's claimer (the work:withdraw token that claimed
 * it, with the claim secret it was answered when it sends one); `owner`: a
 * token with work:deposit whose subject is the work's user; `admin`: an admin token (within its
 * pipelines); `service`: the service itself (the reaper).
 */
export type Role = "worker" | "owner" | "admin" | "service";

export interface Transition {
  /** Statuses the work must be in; the store's conditional update guards on them. */
  from: readonly Status[];
  /** A failure in `from` only while it awaits a retry (it has a `retryAt`): not one that is final. */
  retrying?: true;
  /** Also guarded by the attempt the caller names (outcomes, heartbeats, release). */
  fenced: boolean;
  who: readonly Role[];
  /** The status it leaves the work in; `from` when it stays. */
  to: Status | "from";
  /**
   * Every field its update sets or removes besides `status` (a dotted path: that field within). The
   * store writes nothing else (test/transition-writes.test.ts records its writes), and where the
   * update ends an attempt the store removes each of these that it does not set.
   */
  writes: readonly string[];
  why: string;
}

/** What a worker may write when it reports (PUT /work): nothing of the work's definition. */
export const OUTCOME_FIELDS = [
  "status",
  "results",
  "products",
  "plots",
  "archive",
  "stop",
] as const;

/** What an owner (or an admin) may change while a work is not running. */
export const DEFINITION_FIELDS = [
  "function",
  "command",
  "parameters",
  "priority",
  "tags",
  "event",
  "timeout",
  "retries",
  "site",
  "config",
  "notify",
] as const;

/** Fields that only a running attempt has: whatever ends the attempt removes them. */
export const ATTEMPT_FIELDS = ["leaseUntil", "deadline", "lease"] as const;

const ATTEMPT_ENDS = ["stop", "history", ...ATTEMPT_FIELDS] as const;

/**
 * Every way a work's status can change, and who may change it. Each row is one conditional update
 * in the store (guarded by `from` and, where fenced, the attempt), so with several instances only
 * one applies it and a stale writer changes nothing. The README shows this table (checked by a
 * test), and nothing else writes a work's status.
 */
export const TRANSITIONS = {
  deposit: {
    from: [],
    fenced: false,
    who: ["owner", "admin"],
    to: "queued",
    writes: ["the work as deposited", "received", "key"],
    why: "POST /work",
  },
  claim: {
    from: ["queued"],
    fenced: false,
    who: ["worker"],
    to: "running",
    writes: [
      "attempt",
      "start",
      "leaseUntil",
      "deadline",
      "lease",
      "history",
      "claim",
      "claimToken",
      "stop",
      "finishedAt",
    ],
    why: "POST /work/withdraw, once notBefore has passed; a lease only with ?lease=S; a work that runs again is unfinished (no stop, no finishedAt)",
  },
  heartbeat: {
    from: ["running"],
    fenced: true,
    who: ["worker"],
    to: "from",
    writes: ["leaseUntil"],
    why: "POST /work/:id/heartbeat; never past the deadline",
  },
  progress: {
    from: ["running"],
    fenced: true,
    who: ["worker"],
    to: "from",
    writes: ["results", "products", "plots", "archive", "notify.slack.reply"],
    why: "PUT /work without a status change",
  },
  succeed: {
    from: ["running"],
    fenced: true,
    who: ["worker"],
    to: "success",
    writes: [...OUTCOME_FIELDS, "notify.slack.reply", ...ATTEMPT_ENDS, "retryAt"],
    why: "PUT /work with status success",
  },
  fail: {
    from: ["running"],
    fenced: true,
    who: ["worker"],
    to: "failure",
    writes: [...OUTCOME_FIELDS, "notify.slack.reply", ...ATTEMPT_ENDS, "retryAt"],
    why: "PUT /work with status failure; retryAt only while retries are left",
  },
  late: {
    from: ["cancelled"],
    fenced: true,
    who: ["worker"],
    to: "from",
    writes: ["results", "products", "plots", "archive", "stop", "notify.slack.reply", "claim.late"],
    why: "PUT /work from the worker that held a work cancelled under it (status cancelled, success or failure); once",
  },
  reply: {
    from: ["success", "failure", "cancelled"],
    fenced: true,
    who: ["worker"],
    to: "from",
    writes: ["notify.slack.reply"],
    why: "PUT /work: Slack's answer, posted once the outcome was recorded",
  },
  release: {
    from: ["running"],
    fenced: true,
    who: ["worker"],
    to: "queued",
    writes: [...ATTEMPT_ENDS, "uncounted", "notBefore"],
    why: "POST /work/:id/release: the attempt does not count against retries",
  },
  lapse: {
    from: ["running"],
    fenced: false,
    who: ["service"],
    to: "failure",
    writes: [...ATTEMPT_ENDS, "retryAt"],
    why: "the reaper: a lease ended without a heartbeat, or start + timeout + grace passed",
  },
  retry: {
    from: ["failure"],
    retrying: true,
    fenced: false,
    who: ["service"],
    to: "queued",
    writes: ["retryAt", "notBefore"],
    why: "the reaper, once retryAt has passed",
  },
  auditFailed: {
    from: ["failure"],
    retrying: true,
    fenced: false,
    who: ["admin"],
    to: "queued",
    writes: ["retryAt", "notBefore"],
    why: "GET /audit/failed: every failure with retries left, whatever its retryAt",
  },
  auditExpired: {
    from: ["running"],
    fenced: false,
    who: ["admin"],
    to: "failure",
    writes: [...ATTEMPT_ENDS, "retryAt"],
    why: "GET /audit/expired: running works past start + timeout",
  },
  auditStale: {
    from: [...UNFINISHED_STATUSES, "failure"],
    retrying: true,
    fenced: false,
    who: ["admin"],
    to: "failure",
    writes: [...ATTEMPT_ENDS, "retryAt"],
    why: "GET /audit/stale/:days: unfinished works created before then; final, no retry",
  },
  cancel: {
    from: CANCELLABLE_STATUSES,
    retrying: true,
    fenced: false,
    who: ["owner", "admin", "service"],
    to: "cancelled",
    writes: [...ATTEMPT_ENDS, "retryAt"],
    why: "POST /work/:id/cancel, PUT status cancelled, POST /runs/:id/cancel, or a fail-fast step's failure",
  },
  unblock: {
    from: ["waiting"],
    fenced: false,
    who: ["service"],
    to: "queued",
    writes: ["parameters", "command", "notBefore", "key", "uncached"],
    why: "a run's step whose needs all ended (and its if holds), filled from their results; max-parallel at a time; a rerun's mark to bypass the cache cleared",
  },
  reuse: {
    from: ["waiting"],
    fenced: false,
    who: ["service"],
    to: "success",
    writes: ["key", "cached", "results", "products", "plots", "archive", "start", "stop"],
    why: "where a work with cache would be queued (deposit, release) and its key has a usable success in its pipeline",
  },
  pause: {
    from: ["queued"],
    fenced: false,
    who: ["owner", "admin", "service"],
    to: "waiting",
    writes: [],
    why: "POST /runs/:id/pause (a paused run's evaluation too), or a retry past the run's max-parallel: released again in turn",
  },
  skip: {
    from: ["waiting"],
    fenced: false,
    who: ["service"],
    to: "skipped",
    writes: ["stop"],
    why: "a run's step whose if does not hold once its needs ended (e.g. a need failed)",
  },
  rerun: {
    from: REQUEUABLE_STATUSES,
    fenced: false,
    who: ["owner", "admin"],
    to: "waiting",
    writes: [
      "uncounted",
      "retryAt",
      "results",
      "products",
      "plots",
      "archive",
      "start",
      "stop",
      "cached",
      "keyExpired",
      "uncached",
    ],
    why: "POST /runs/:id/rerun: the chosen works and their dependents, with fresh retries; the chosen run whatever the cache holds",
  },
  requeue: {
    from: REQUEUABLE_STATUSES,
    fenced: false,
    who: ["owner", "admin"],
    to: "queued",
    writes: ["retryAt", "uncounted", "notBefore", "key", "cached", ...DEFINITION_FIELDS],
    why: "PUT /work with status queued: a fresh set of retries",
  },
  edit: {
    from: ["created", "waiting", "queued", "success", "failure", "skipped", "cancelled"],
    fenced: false,
    who: ["owner", "admin"],
    to: "from",
    writes: [...DEFINITION_FIELDS, "key"],
    why: "PUT /work; never pipeline or user; site checked; a new definition drops a success's key",
  },
  backdate: {
    from: [...STATUSES],
    fenced: false,
    who: ["admin"],
    to: "from",
    writes: ["creation", "retries", "config.archive"],
    why: "PUT /work by an admin, also beside its own outcome: they decide only staleness, tries left and where results go (CHIME's tests set them)",
  },
  reschedule: {
    from: ["running"],
    fenced: false,
    who: ["admin"],
    to: "from",
    writes: ["start", "timeout", "deadline", "leaseUntil"],
    why: "PUT /work by an admin: the deadline follows start + timeout",
  },
} as const satisfies Record<string, Transition>;

export type TransitionName = keyof typeof TRANSITIONS;

/** Whether a work in `status` may take transition `name`, as far as its status goes. */
export const allows = (name: TransitionName, status: string): boolean =>
  (TRANSITIONS[name].from as readonly string[]).includes(status);

/** How the table names a failure with a retry ahead of it. */
const AWAITING_RETRY = "failure awaiting a retry";

/** The table as Markdown, for the README. */
export function renderTransitions(): string {
  const rows = Object.entries(TRANSITIONS).map(([name, t]: [string, Transition]) => {
    const from =
      t.from.length === 0
        ? "(new)"
        : t.from.map((s) => (s === "failure" && t.retrying ? AWAITING_RETRY : s)).join(", ");
    const to = t.to === "from" ? "(same)" : t.to;
    const fenced = t.fenced ? "yes" : "";
    return `| ${name} | ${from} | ${fenced} | ${t.who.join(", ")} | ${to} | ${t.writes.join(", ")} | ${t.why} |`;
  });
  return [
    "| transition | from | fenced by attempt | who | to | writes | when |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
