import type { Collection, ObjectId } from "mongodb";
import { RUN_TRANSITIONS } from "../run-machine.js";
import type { RunDoc, RunEvent } from "./runs.js";
import { scatter } from "./scatter.js";

/**
 * A run's timeout and pause, as the periodic loop and the pause routes read and write them; and its
 * pipelines, as a growing step adds to them.
 */
export function runLimitStore(collection: Collection<RunDoc>) {
  return {
    /** Running runs whose deadline has passed: the periodic loop times them out. */
    overdue: (now: number, limit: number) =>
      collection
        .find(
          {
            status: "running",
            deadline: { $lte: now },
            // Its works still being stored, or put back by a rerun: it is timed out after that.
            creating: { $ne: true },
            rerunning: { $exists: false },
          },
          {
            ...scatter("the sweep for overdue runs"),
            projection: { "config.pipeline": 0, "config.defaults": 0, events: 0 },
          },
        )
        .limit(limit)
        .toArray(),
    /** Pauses or resumes a running run; answers whether it was running (and so changed or not). */
    setPaused: async (_id: ObjectId, paused: number | undefined, event: RunEvent) => {
      const { matchedCount } = await collection.updateOne(
        {
          _id,
          status: { $in: [...RUN_TRANSITIONS[paused === undefined ? "resume" : "pause"].from] },
          paused: paused === undefined ? { $exists: true } : { $exists: false },
        },
        {
          ...(paused === undefined ? { $unset: { paused: "" } } : { $set: { paused } }),
          $push: { events: event },
        },
      );
      return matchedCount === 1;
    },
    /**
     * Adds pipelines to the run's, before any of its works is stored in them: its works are found
     * on its pipelines' shards only. Answers the run's pipelines as they now are.
     */
    addPipelines: async (_id: ObjectId, pipelines: string[]): Promise<string[]> => {
      const after = await collection.findOneAndUpdate(
        { _id },
        [
          {
            $set: {
              pipelines: {
                $sortArray: {
                  input: { $setUnion: ["$pipelines", { $literal: pipelines }] },
                  sortBy: 1,
                },
              },
            },
          },
        ],
        { returnDocument: "after", projection: { pipelines: 1 } },
      );
      return after?.pipelines ?? pipelines;
    },
  };
}
