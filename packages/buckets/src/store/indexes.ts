import type { Collection, IndexDescription } from "mongodb";
import type { WorkDoc } from "./documents.js";

/**
 * The claim indexes put equality fields first and the claim order (priority desc, then received,
 * then _id) after, so a claim is an index scan that stops at the first match whatever the queue
 * depth. `notBefore` rides at the end so delayed works are skipped on the index, without a fetch.
 */
const CLAIM_ORDER = { priority: -1, received: 1, _id: 1, notBefore: 1 } as const;

/**
 * Claims filtered by one of CHIME's worker flags (`--tag`, `--event`, `--parent`, or a user):
 * partial indexes over queued works only, so they stay small and a claim leaves them at once.
 */
const FILTERED_CLAIMS: IndexDescription[] = (
  ["tags", "event", "user", "config.parent"] as const
).map((field) => ({
  name: `claim_${field.replace(".", "_")}`,
  key: { pipeline: 1, [field]: 1, ...CLAIM_ORDER },
  partialFilterExpression: { status: "queued" },
}));

export const INDEXES: IndexDescription[] = [
  ...FILTERED_CLAIMS,
  {
    name: "claim_pipeline_site",
    key: { status: 1, pipeline: 1, site: 1, ...CLAIM_ORDER },
  },
  {
    name: "claim_pipeline",
    key: { status: 1, pipeline: 1, ...CLAIM_ORDER },
  },
  { name: "pipeline_status", key: { pipeline: 1, status: 1 } },
  { name: "lease", key: { status: 1, leaseUntil: 1 } },
  { name: "retry", key: { status: 1, retryAt: 1 } },
  { name: "stale", key: { status: 1, creation: 1 } },
  { name: "user", key: { user: 1, creation: 1 } },
  { name: "tags", key: { tags: 1 } },
  // The dashboard's last hour (store/activity.ts): covered counts of works by when they stopped.
  { name: "stop_status_pipeline", key: { stop: 1, status: 1, pipeline: 1 } },
  // A run's works by step and status (counts, releases in matrix order): pipeline works only.
  {
    name: "run_step_status",
    key: { run: 1, step: 1, status: 1, index: 1 },
    partialFilterExpression: { run: { $exists: true } },
  },
];

/** Creates the indexes; one whose name is taken by older keys (an upgrade) is rebuilt. */
export async function ensureIndexes(collection: Collection<WorkDoc>): Promise<void> {
  const existing = await collection
    .listIndexes()
    .toArray()
    .catch(() => []);
  for (const index of INDEXES) {
    const old = existing.find((e) => e.name === index.name);
    if (old && JSON.stringify(old.key) !== JSON.stringify(index.key)) {
      await collection.dropIndex(index.name as string);
    }
  }
  await collection.createIndexes(INDEXES);
}
