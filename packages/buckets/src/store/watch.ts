/** Change streams that wake waiting withdraws when a work becomes claimable. */

import type { ChangeStream, Collection, Db } from "mongodb";
import type { WorkDoc } from "./documents.js";
import { scatter } from "./scatter.js";

/** Change streams need a replica set (or a sharded cluster). */
export async function supportsChangeStreams(db: Db): Promise<boolean> {
  const hello = await db.admin().command({ hello: 1 });
  return typeof hello.setName === "string" || hello.msg === "isdbgrid";
}

/**
 * Calls `onQueued` whenever a work becomes claimable: inserted (with its pipeline), or put back in
 * the queue (the update does not say whose pipeline: then none is given). One stream serves every
 * waiting withdraw of this service instance.
 */
export function watchQueued(
  collection: Collection<WorkDoc>,
  onQueued: (pipelines?: string[]) => void,
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
      { $project: { _id: 1, operationType: 1, "fullDocument.pipeline": 1 } },
    ],
    { ...scatter("the long-polls' change stream, one per instance"), fullDocument: "default" },
  );
  stream.on("change", (change) => {
    const pipeline = (change as { fullDocument?: { pipeline?: unknown } }).fullDocument?.pipeline;
    onQueued(typeof pipeline === "string" ? [pipeline] : undefined);
  });
  stream.on("error", onError);
  return stream;
}
