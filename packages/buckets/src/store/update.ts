/** The store's guarded updates of works, each written only if what it read still holds. */

import type { Collection, ObjectId, UpdateFilter } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { oversizedError } from "./oversize.js";

export interface Replacement {
  _id: ObjectId;
  /** The work's pipeline: the shard key every write names. */
  pipeline: string;
  /** The attempt and status the change was based on: it applies only while both still hold. */
  attempt: number;
  status: WorkDoc["status"];
  set: Partial<WorkDoc>;
  unset: string[];
}

/** Applies changes, each guarded by what it read. Answers the ids whose guard no longer held. */
export async function updateWorks(
  collection: Collection<WorkDoc>,
  changes: Replacement[],
): Promise<string[]> {
  if (changes.length === 0) return [];
  const result = await collection
    .bulkWrite(
      changes.map(({ _id, pipeline, attempt, status, set, unset }) => {
        const update: UpdateFilter<WorkDoc> = { $set: set };
        if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((k) => [k, ""]));
        return { updateOne: { filter: { _id, pipeline, attempt, status }, update } };
      }),
      // Journaled: a reported outcome survives a crash of mongod.
      { ordered: false, writeConcern: { journal: true } },
    )
    .catch((error: unknown) => {
      throw (
        oversizedError(
          changes.map(({ _id, set }) => ({ _id, set })),
          error,
        ) ?? error
      );
    });
  if (result.matchedCount === changes.length) return [];
  // Rare: someone else moved a work between our read and write. Find which, to name them.
  const current = await collection
    .find(
      {
        _id: { $in: changes.map((c) => c._id) },
        pipeline: { $in: [...new Set(changes.map((c) => c.pipeline))] },
      },
      { projection: { attempt: 1, status: 1 } },
    )
    .toArray();
  const now = new Map(current.map((d) => [d._id.toHexString(), d]));
  return changes
    .filter((c) => {
      const doc = now.get(c._id.toHexString());
      return doc?.attempt !== c.attempt || doc.status !== c.status;
    })
    .map((c) => c._id.toHexString());
}
