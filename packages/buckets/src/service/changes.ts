/** What an update changes: the fields a client sent that differ from what is stored. */

import { isDeepStrictEqual } from "node:util";
import type { Work } from "@workflow/work";

/** Fields the service keeps: sent back by a client, they are neither a change nor written. */
const KEPT = new Set([
  "id",
  "attempt",
  "history",
  "leaseUntil",
  "notBefore",
  "retryAt",
  "uncounted",
]);

export interface Changes {
  /** Fields whose sent value differs from the stored one. */
  fields: string[];
  /** Slack's answer to a post, when the sender added or changed it. */
  reply: Record<string, unknown> | undefined;
  /**
   * The fields that differ in what the stored work already says: a client that filled in defaults
   * of its own inside config or notify (CHIME's fills config.orgs, config.archive.logs) contradicts
   * nothing the work held.
   */
  contradicted: string[];
}

const isPlain = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Whether `sent` says something other than `stored` about what `stored` holds. */
function contradicts(sent: unknown, stored: unknown): boolean {
  if (stored === undefined) return false;
  if (isPlain(sent) && isPlain(stored)) {
    return Object.keys(sent).some((key) => contradicts(sent[key], stored[key]));
  }
  return !isDeepStrictEqual(sent, stored);
}

const withoutReply = (notify: Work["notify"] | undefined) => {
  if (!notify?.slack) return notify;
  const { reply: _reply, ...slack } = notify.slack;
  return { ...notify, slack };
};

/**
 * What a PUT item changes, comparing validated values (`merged` is the stored work with the item's
 * fields over it, `stored` the work as it was). `sent` names the fields the item carried (nulls
 * dropped: CHIME's client sends every unset field as null).
 */
export function changesOf(sent: string[], merged: Work, stored: Work): Changes {
  const fields: string[] = [];
  const contradicted: string[] = [];
  for (const key of sent) {
    if (KEPT.has(key)) continue;
    const field = key as keyof Work;
    const [after, before] =
      field === "notify"
        ? [withoutReply(merged.notify), withoutReply(stored.notify)]
        : [merged[field], stored[field]];
    if (isDeepStrictEqual(after, before)) continue;
    fields.push(key);
    if (before === undefined || contradicts(after, before)) contradicted.push(key);
  }
  const reply = merged.notify?.slack?.reply;
  const replied = reply !== undefined && !isDeepStrictEqual(reply, stored.notify?.slack?.reply);
  return { fields, reply: replied ? reply : undefined, contradicted };
}
