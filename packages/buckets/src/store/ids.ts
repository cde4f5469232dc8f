/** The store's ids: MongoDB's ObjectId, made and parsed here so the driver stays in the store. */

import { ObjectId } from "mongodb";

/**
 * Ids as MongoDB stores them, named here so that nothing above the store imports the driver (the
 * service and routes reach MongoDB through the store alone: test/layers.test.ts checks it).
 */
export type { ObjectId };

/** A new id, for a document the service is about to store. */
export function freshObjectId(): ObjectId {
  return new ObjectId();
}

/** The id written as 24 hex digits (checked by ObjectIdSchema before it gets here). */
export function toObjectId(hex: string): ObjectId {
  return ObjectId.createFromHexString(hex);
}

/** A new id as 24 hex digits: the `id` a deposit names its work by when the depositor did not. */
export function newId(): string {
  return new ObjectId().toHexString();
}
