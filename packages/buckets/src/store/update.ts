import type { Collection, ObjectId, UpdateFilter } from "mongodb";
import type { WorkDoc } from "./documents.js";

export interface Replacement {
  _id: ObjectId;
  /** The attempt the change was based on: the write applies only while it is still current. */
  attempt: number;
  set: Partial<WorkDoc>;
  unset: string[];
}

/** Applies changes, each guarded by its attempt. Answers the ids whose guard no longer held. */
export async function updateWorks(
  collection: Collection<WorkDoc>,
  changes: Replacement[],
): Promise<string[]> {
  if (changes.length === 0) return [];
  const result = await collection.bulkWrite(
    changes.map(({ _id, attempt, set, unset }) => {
      const update: UpdateFilter<WorkDoc> = { $set: set };
      if (unset.length > 0) update.$unset = Object.fromEntries(unset.map((k) => [k, ""]));
      return { updateOne: { filter: { _id, attempt }, update } };
    }),
    // Journaled: a reported outcome survives a crash of mongod.
    { ordered: false, writeConcern: { journal: true } },
  );
  if (result.matchedCount === changes.length) return [];
  // Rare: someone else moved a work between our read and write. Find which, to name them.
  const current = await collection
    .find({ _id: { $in: changes.map((c) => c._id) } }, { projection: { attempt: 1 } })
    .toArray();
  const attempts = new Map(current.map((d) => [d._id.toHexString(), d.attempt]));
  return changes
    .filter((c) => attempts.get(c._id.toHexString()) !== c.attempt)
    .map((c) => c._id.toHexString());
}
