import type { ChangeStream, Collection, Db } from "mongodb";
import type { WorkDoc } from "./documents.js";

/** Change streams need a replica set (or a sharded cluster). */
export async function supportsChangeStreams(db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === "string" || hello.msg === "isdbgrid";
}

/**
 * Calls `onQueued` whenever a work becomes claimable: inserted, or put back in the queue. One
 * stream serves every waiting withdraw of this service instance.
 */
export function watchQueued(
  collection: Collection<WorkDoc>,
  onQueued: () => void,
  onError: (error: unknown) => void,
): ChangeStream<WorkDoc> {
  const stream = collection.watch<WorkDoc>(
    [
      {
        $match: {
          $or: [
            { operationType: "insert" },
            { operationType: "update", "updateDescription.updatedFields.status": "queued" },
          ],
        },
      },
      { $project: { _id: 1 } },
    ],
    { fullDocument: "default" },
  );
  stream.on("change", onQueued);
  stream.on("error", onError);
  return stream;
}
