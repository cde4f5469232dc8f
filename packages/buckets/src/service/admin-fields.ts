/**
 * Which fields an admin may set on a work whatever its status, and why none of them decides
 * anything.
 */

import { isDeepStrictEqual } from "node:util";
import { type Work, withoutStrategy } from "@workflow/work";
import { isAdmin } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import type { WorkDoc } from "../store/index.js";
import type { Changes } from "./changes.js";

/**
 * What an admin may set on a work whatever its status, beside a worker's outcome or on a running
 * work, because none of it decides anything a worker, a claim or another user relies on:
 * - `creation`: the queue orders by the service's own arrival time, so it decides only staleness
 *   (CHIME backdates works to test `/audit/stale` and its transfer daemon's stale sweep);
 * - `retries`: how many more tries a failure gets (CHIME's tests lower it beside a failure);
 * - `config.archive`: where results, products and plots go once the attempt ends, and whether the
 *   transfer keeps the work (CHIME's tests flip `config.archive.results` beside a success).
 * Everything else (what runs, its site, parent, orgs, teams, notifications) is refused by the
 * caller with the 403 naming the field.
 */
export const ADMIN_SETTABLE = ["creation", "retries", "config.archive"] as const;

/**
 * The rest of a config, to tell an archive-only change. `metrics` is left out: CHIME's client fills
 * it in, and the service keeps it as given without acting on it.
 */
const withoutArchive = (config: Work["config"]) => {
  const { archive: _archive, strategy: _strategy, metrics: _metrics, ...rest } = config;
  return rest;
};

export interface AdminPart {
  /** What the admin sets, ready to be written beside the rest of the plan. */
  set: Partial<WorkDoc>;
  /** The changes left for the usual rules. */
  rest: Changes;
}

/** Splits off what an admin may set (nothing, for anyone else). */
export function adminPart(
  principal: Principal,
  changes: Changes,
  merged: Work,
  before: Work,
): AdminPart {
  if (!isAdmin(principal)) return { set: {}, rest: changes };
  const set: Partial<WorkDoc> = {};
  const taken = new Set<string>();
  if (changes.fields.includes("creation")) {
    set.creation = merged.creation;
    taken.add("creation");
  }
  if (changes.fields.includes("retries")) {
    set.retries = merged.retries;
    taken.add("retries");
  }
  if (
    changes.fields.includes("config") &&
    isDeepStrictEqual(withoutArchive(merged.config), withoutArchive(before.config))
  ) {
    set.config = withoutStrategy({ ...before.config, archive: merged.config.archive });
    taken.add("config");
  }
  const left = (fields: string[]) => fields.filter((f) => !taken.has(f));
  return {
    set,
    rest: { ...changes, fields: left(changes.fields), contradicted: left(changes.contradicted) },
  };
}

/**
 * CHIME's tests end a work's tries by sending a failure with `attempt` set to `retries`: the
 * service counts attempts itself, so from an admin holding the work an attempt past the current
 * one means "no tries left". Its retries are lowered to the attempts already counted, so the
 * failure is final here, in the audits, and in CHIME's transfer query (`attempt >= retries`).
 */
export function exhaustedRetries(doc: WorkDoc): number {
  return Math.max(0, doc.attempt - (doc.uncounted ?? 0) - 1);
}
