/**
 * The store's side of machine.ts: the filters and updates of its rows, made from the table so that
 * the two cannot say different things.
 */

import type { Document, Filter } from "mongodb";
import { TRANSITIONS, type Transition, type TransitionName } from "../machine.js";
import type { WorkDoc } from "./documents.js";

/** A failure with a retry ahead of it: the only failure a cancel, a retry or an audit moves. */
export const AWAITING_RETRY = { status: "failure", retryAt: { $exists: true } } as const;

/**
 * The works a transition starts from, as far as their status goes: its `from`, and a failure only
 * while it awaits a retry where the row says so. Other conditions go beside it (a spread), or in
 * an `$and` when they hold an `$or` of their own.
 */
export function fromFilter(name: TransitionName): Filter<WorkDoc> {
  const row: Transition = TRANSITIONS[name];
  if (!row.retrying) return { status: { $in: [...row.from] } };
  const others = row.from.filter((s) => s !== "failure");
  if (others.length === row.from.length) return { status: { $in: others } };
  if (others.length === 0) return { ...AWAITING_RETRY };
  return { $or: [{ status: { $in: others } }, { ...AWAITING_RETRY }] };
}

/**
 * A transition's update as a pipeline: `status` to the row's `to`, the fields given, and every
 * other field the row writes removed (what an ended attempt leaves behind). Setting a field the row
 * does not list is a programming error: the table is what the README and the dashboard show.
 */
export function transitionUpdate(name: TransitionName, set: Document): Document[] {
  const row: Transition = TRANSITIONS[name];
  const outside = Object.keys(set).filter((field) => !row.writes.includes(field));
  if (outside.length > 0) {
    throw new Error(`${name} writes ${outside.join(", ")}: not in its row of machine.ts`);
  }
  const status = row.to === "from" ? {} : { status: row.to };
  const removed = row.writes.filter((field) => !(field in set) && !field.includes("."));
  return [{ $set: { ...status, ...set } }, ...(removed.length > 0 ? [{ $unset: removed }] : [])];
}
