/** The works' indexes, so that every claim is an index scan that stops at its first match. */

import type { Collection, IndexDescription } from "mongodb";
import { CACHE_INDEX } from "./cache.js";
import type { WorkDoc } from "./documents.js";

/**
 * The claim indexes put equality fields first and the claim order (priority desc, then received,
 * then _id) after, so a claim is an index scan that stops at the first match whatever the queue
 * depth. `notBefore` rides at the end so delayed works are skipped on the index, without a fetch.
 */
const CLAIM_ORDER = { priority: -1, received: 1, _id: 1, notBefore: 1 } as const;

/** Queued works only: a claim takes a work out, and nothing after it touches these indexes again. */
const QUEUED = { status: "queued" } as const;

/**
 * Claims filtered by one of CHIME's worker flags (`--tag`, `--event`, `--parent`, or a user):
 * partial indexes over the queued works that have the field, so they stay small.
 */
const FILTERED_CLAIMS: IndexDescription[] = (
  ["tags", "event", "user", "config.parent"] as const
).map((field) => ({
  name: `claim_${field.replace(".", "_")}`,
  key: { pipeline: 1, [field]: 1, ...CLAIM_ORDER },
  partialFilterExpression: { ...QUEUED, [field]: { $exists: true } },
}));

/**
 * Each index a work is in costs every write that changes its keys, and a work changes status
 * three times or more. So indexes that serve one status, or a field only some works have, are
 * partial: a work enters them only while it matters to them.
 */
export const INDEXES: IndexDescription[] = [
  ...FILTERED_CLAIMS,
  {
    name: "claim_pipeline_site",
    key: { pipeline: 1, site: 1, ...CLAIM_ORDER },
    partialFilterExpression: QUEUED,
  },
  { name: "claim_pipeline", key: { pipeline: 1, ...CLAIM_ORDER }, partialFilterExpression: QUEUED },
  { name: "pipeline_status", key: { pipeline: 1, status: 1 } },
  // Running works only: the reaper's lapsed leases and deadlines.
  {
    name: "lease",
    key: { status: 1, leaseUntil: 1 },
    partialFilterExpression: { leaseUntil: { $exists: true } },
  },
  // Failures with a retry ahead only.
  {
    name: "retry",
    key: { status: 1, retryAt: 1 },
    partialFilterExpression: { retryAt: { $exists: true } },
  },
  { name: "stale", key: { status: 1, creation: 1 } },
  { name: "user", key: { user: 1, creation: 1 } },
  { name: "tags", key: { tags: 1 } },
  // The dashboard's Works page, newest first (store/find.ts): all works, or one pipeline's.
  { name: "arrival", key: { received: 1, _id: 1 } },
  { name: "pipeline_arrival", key: { pipeline: 1, received: 1, _id: 1 } },
  // The dashboard's last hour (store/activity.ts): covered counts of ended works by when they stopped.
  {
    name: "stop_status_pipeline",
    key: { stop: 1, status: 1, pipeline: 1 },
    partialFilterExpression: { stop: { $exists: true } },
  },
  // A run's works by step and status (counts, releases in matrix order): pipeline works only.
  {
    name: "run_step_status",
    key: { run: 1, step: 1, status: 1, index: 1 },
    partialFilterExpression: { run: { $exists: true } },
  },
  CACHE_INDEX,
];

/** An index's shape: what decides whether one of the same name must be rebuilt. */
const shapeOf = (index: { key: unknown; partialFilterExpression?: unknown }) =>
  JSON.stringify([index.key, index.partialFilterExpression ?? null]);

/** Creates the indexes; one whose name is taken by another shape (an upgrade) is rebuilt. */
export async function ensureIndexes(collection: Collection<WorkDoc>): Promise<void> {
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch(() => []);
  for (const index of INDEXES) {
    const old = existing.find((e) => e.name === index.name);
    if (old && shapeOf(old) !== shapeOf(index)) {
      await collection.dropIndex(index.name as string);
    }
  }
  await collection.createIndexes(INDEXES);
}
