import type { RunStatus } from "@workflow/work/statuses";

/**
 * Every way a pipeline run's status can change, as machine.ts is for works: each row is one
 * conditional update of the run guarded by `from`, so that with several instances one applies it.
 * The README shows this table (checked by a test). `paused` is no status: a running run that
 * releases nothing until it is resumed.
 */
export interface RunTransition {
  from: readonly RunStatus[];
  who: readonly ("owner" | "admin" | "service")[];
  /** The status it leaves the run in; `from` when it stays. */
  to: RunStatus | "from";
  writes: readonly string[];
  why: string;
}

/** What every end of a run writes: when it ended, and its callback and Slack message fall due. */
const ENDS = ["finished", "callback", "slack", "creating", "paused"] as const;

export const RUN_TRANSITIONS = {
  start: {
    from: [],
    who: ["owner", "admin", "service"],
    to: "running",
    writes: ["the run as created", "creating", "deadline"],
    why: "POST /runs, or a schedule's tick; evaluated once its works are all stored",
  },
  pause: {
    from: ["running"],
    who: ["owner", "admin"],
    to: "from",
    writes: ["paused", "events"],
    why: "POST /runs/:id/pause: its queued works go back to waiting, running ones finish",
  },
  resume: {
    from: ["running"],
    who: ["owner", "admin"],
    to: "from",
    writes: ["paused", "events"],
    why: "POST /runs/:id/resume",
  },
  succeed: {
    from: ["running"],
    who: ["service"],
    to: "success",
    writes: [...ENDS, "events"],
    why: "its steps all ended, none failed or was cancelled",
  },
  fail: {
    from: ["running"],
    who: ["service"],
    to: "failure",
    writes: [...ENDS, "events"],
    why: "its steps all ended, one failed (or works were skipped as too large)",
  },
  cancel: {
    from: ["running"],
    who: ["owner", "admin", "service"],
    to: "cancelled",
    writes: [...ENDS, "events"],
    why: "POST /runs/:id/cancel or a crash during its creation (its unfinished works are cancelled), or its steps all ended with one cancelled and none failed",
  },
  timeout: {
    from: ["running"],
    who: ["service"],
    to: "timedout",
    writes: [...ENDS, "events"],
    why: "its config's timeout passed before its steps all ended; its unfinished works are cancelled",
  },
  rerun: {
    from: ["success", "failure", "cancelled", "timedout"],
    who: ["owner", "admin"],
    to: "running",
    writes: ["steps", "checked", "rerunning", "deadline", "finished", "callback", "events"],
    why: "POST /runs/:id/rerun, when some of its works go back to waiting; its timeout starts again",
  },
} as const satisfies Record<string, RunTransition>;

export type RunTransitionName = keyof typeof RUN_TRANSITIONS;

/** The transition that ends a run in `status`. */
export const RUN_ENDS = {
  success: "succeed",
  failure: "fail",
  cancelled: "cancel",
  timedout: "timeout",
} as const satisfies Record<Exclude<RunStatus, "running">, RunTransitionName>;

/** Whether a run in `status` may take transition `name`. */
export const runAllows = (name: RunTransitionName, status: string): boolean =>
  (RUN_TRANSITIONS[name].from as readonly string[]).includes(status);

/** The table as Markdown, for the README. */
export function renderRunTransitions(): string {
  const rows = Object.entries(RUN_TRANSITIONS).map(([name, t]: [string, RunTransition]) => {
    const from = t.from.length === 0 ? "(new)" : t.from.join(", ");
    const to = t.to === "from" ? "(same)" : t.to;
    return `| ${name} | ${from} | ${t.who.join(", ")} | ${to} | ${t.writes.join(", ")} | ${t.why} |`;
  });
  return [
    "| transition | from | who | to | writes | when |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
