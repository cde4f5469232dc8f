/** Work ids made from content, so that a file deposited again names the same works. */

import { createHash, randomBytes } from "node:crypto";
import type { Work } from "@workflow/work";

/**
 * Ids made from each work's content (its creation time aside) and which copy of that content it
 * is, so that a file deposited again names the same works: the ones already stored are skipped.
 * Two equal lines are two works; a line edited since is a new work. An id the file gives is kept.
 */
export function contentIds(works: Work[]): string[] {
  const copies = new Map<string, number>();
  return works.map((work) => {
    const { id, creation: _creation, ...content } = work;
    if (id !== undefined) return id;
    const text = JSON.stringify(content);
    const copy = copies.get(text) ?? 0;
    copies.set(text, copy + 1);
    return createHash("sha256").update(`${copy}\n${text}`).digest("hex").slice(0, 24);
  });
}

/** Fresh ids, made before sending so that a batch retried after a lost answer stores no copy. */
export function randomIds(works: Work[]): string[] {
  // An ObjectId's shape: seconds since 1970, then random bytes.
  const seconds = Math.floor(Date.now() / 1000)
    .toString(16)
    .padStart(8, "0");
  return works.map((work) => work.id ?? `${seconds}${randomBytes(8).toString("hex")}`);
}
