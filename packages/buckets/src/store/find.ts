import type { Collection, Filter, ObjectId } from "mongodb";
import type { WorkDoc } from "./documents.js";

export interface FindOptions {
  projection?: Record<string, 0 | 1>;
  skip?: number;
  limit?: number;
}

export async function findWorks(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
  { projection, skip = 0, limit = 100 }: FindOptions = {},
): Promise<Partial<WorkDoc>[]> {
  return collection.find(filter, { ...(projection ? { projection } : {}), skip, limit }).toArray();
}

export async function countWorks(
  collection: Collection<WorkDoc>,
  filter: Filter<WorkDoc>,
): Promise<number> {
  return collection.countDocuments(filter);
}

export async function findByIds(
  collection: Collection<WorkDoc>,
  ids: ObjectId[],
): Promise<WorkDoc[]> {
  return collection.find({ _id: { $in: ids } }).toArray();
}
