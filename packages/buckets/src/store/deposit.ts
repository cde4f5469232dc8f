/** The store's deposit: works inserted in one insert, a repeated request recognised by digest. */

import { type Collection, MongoBulkWriteError } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { StoreError } from "./errors.js";
import { oversizedError } from "./oversize.js";

const DUPLICATE_KEY = 11000;

/**
 * Inserts works. A work whose id is already stored with the same digest was deposited before (a
 * retried request): it is taken as done. The same id with other content is a conflict.
 *
 * One insert for the whole request: parts of it inserted in parallel cost mongod more CPU in all
 * (they append to the same last pages of the claim and time indexes), CPU it shares with the
 * service. A client with several requests in flight gets its parallelism from them instead.
 */
export async function depositWorks(
  collection: Collection<WorkDoc>,
  docs: WorkDoc[],
): Promise<void> {
  if (docs.length === 0) return;
  const clashing = await insert(collection, docs).catch((error: unknown) => {
    throw oversizedError(docs, error) ?? error;
  });
  if (clashing.length > 0) {
    throw new StoreError(
      "taken",
      `ids already used by other works: ${clashing.join(", ")}; give those works new ids. The request's other works are stored: sending them again with the same ids and content is harmless`,
      { details: { ids: clashing } },
    );
  }
}

/** Inserts the works; answers the ids already stored with other content. */
async function insert(collection: Collection<WorkDoc>, docs: WorkDoc[]): Promise<string[]> {
  try {
    // Journaled: an acknowledged deposit survives a crash of mongod.
    await collection.insertMany(docs, { ordered: false, writeConcern: { journal: true } });
    return [];
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    // Only "already there" is a success; a write-concern error (say, mongod shutting down) is not.
    const onlyRepeats =
      writeErrors.length > 0 &&
      writeErrors.every((e) => e.code === DUPLICATE_KEY) &&
      !error.result.getWriteConcernError();
    if (!onlyRepeats) throw error;
    const repeated = writeErrors.map((e) => docs[e.index] as WorkDoc);
    const stored = await collection
      .find({ _id: { $in: repeated.map((d) => d._id) } }, { projection: { digest: 1 } })
      .toArray();
    const digests = new Map(stored.map((d) => [d._id.toHexString(), d.digest]));
    return repeated
      .filter((d) => digests.get(d._id.toHexString()) !== d.digest)
      .map((d) => d._id.toHexString());
  }
}
