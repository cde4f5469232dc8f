import { type Collection, MongoBulkWriteError } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { StoreError } from "./errors.js";

const DUPLICATE_KEY = 11000;

/**
 * Works per insert. A large deposit goes as several inserts at once: mongod writes them on all its
 * cores instead of one, and they share one journal flush.
 */
const CHUNK = 250;

/**
 * Inserts works. A work whose id is already stored with the same digest was deposited before (a
 * retried request): it is taken as done. The same id with other content is a conflict.
 */
export async function depositWorks(
  collection: Collection<WorkDoc>,
  docs: WorkDoc[],
): Promise<void> {
  const chunks: WorkDoc[][] = [];
  for (let at = 0; at < docs.length; at += CHUNK) chunks.push(docs.slice(at, at + CHUNK));
  const results = await Promise.allSettled(chunks.map((chunk) => insert(collection, chunk)));
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  const clashing = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
  if (clashing.length > 0) {
    throw new StoreError(
      "taken",
      `ids already used by other works: ${clashing.join(", ")}; give new works new ids`,
      { details: { ids: clashing } },
    );
  }
}

/** Inserts one chunk; answers the ids already stored with other content. */
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
