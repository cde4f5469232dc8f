/** Works over MongoDB's document limit: found and named with their size. */

import { BSON, MongoServerError, type ObjectId } from "mongodb";
import { StoreError } from "./errors.js";

/** MongoDB's limit on one document, in bytes of BSON. */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

/** The works MongoDB cannot store: their place in the request and their size as BSON. */
export interface Oversized {
  index: number;
  id: string;
  bytes: number;
}

/**
 * The driver refuses a document (or an update) over MongoDB's limit while it builds the batches,
 * before it writes any, and its error names neither the document nor its size: they are measured
 * only then, each `_id` naming its work.
 */
export function oversizedError(docs: { _id: ObjectId }[], error: unknown): StoreError | undefined {
  if (error instanceof MongoServerError) return undefined;
  const oversized: Oversized[] = [];
  docs.forEach((doc, index) => {
    const bytes = BSON.calculateObjectSize(doc);
    if (bytes >= MAX_DOCUMENT_BYTES) oversized.push({ index, id: doc._id.toHexString(), bytes });
  });
  if (oversized.length === 0) return undefined;
  return new StoreError(
    "too_large",
    oversizedMessage(oversized.map((o) => ({ ...o, name: `work ${o.id}` }))),
    { details: { oversized }, cause: error },
  );
}

/** Says which works MongoDB cannot store, and how large they are there. */
export function oversizedMessage(oversized: (Oversized & { name: string })[]): string {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  const sizes = oversized.map((o) => `${o.name} takes ${mb(o.bytes)} MB`).join(", ");
  return `${sizes} in MongoDB, over its ${MAX_DOCUMENT_BYTES / 1024 / 1024} MB limit for one work (a list of many small numbers weighs several times its JSON there): nothing of the request was written; make it smaller`;
}
