/** The store's record of workers' outcomes, each as one conditional write. */

import type { Collection, Document, ObjectId } from "mongodb";
import { ATTEMPT_FIELDS, TRANSITIONS } from "../machine.js";
import { closeCurrentEntry, retryAtAfter } from "./attempt.js";
import type { WorkDoc } from "./documents.js";
import { oversizedError } from "./oversize.js";

/** What a worker reports for one attempt. */
export interface Outcome {
  _id: ObjectId;
  /** The work's pipeline: the shard key every write names. */
  pipeline: string;
  attempt: number;
  transition: "succeed" | "fail" | "progress" | "late" | "reply";
  stop?: number | undefined;
  results?: Record<string, unknown> | undefined;
  products?: string[] | undefined;
  plots?: string[] | undefined;
  archive?: { errors: string[]; digests?: Record<string, string> | undefined } | undefined;
  reply?: Record<string, unknown> | undefined;
  /** For the attempt's history entry. */
  error?: string | undefined;
  /** What an admin holding the work set beside its outcome (service/admin-fields.ts). */
  admin?: Document | undefined;
}

/** The worker's own data, by the field it is written to. */
function reported(outcome: Outcome): Document {
  const fields: Document = {};
  for (const key of ["results", "products", "plots", "archive"] as const) {
    if (outcome[key] !== undefined) fields[key] = outcome[key];
  }
  if (outcome.reply !== undefined) fields["notify.slack.reply"] = outcome.reply;
  return { ...fields, ...outcome.admin };
}

/** What a success leaves behind: the running attempt's fields, and any retry time. */
const SUCCEEDED_UNSET = Object.fromEntries(
  [...ATTEMPT_FIELDS, "retryAt"].map((field) => [field, ""]),
);

/** One outcome's update, and the array filter naming the attempt's history entry. */
interface Write {
  update: Document | Document[];
  arrayFilters?: Document[];
}

/**
 * Update operators wherever the outcome alone says what to write: mongod applies them at less
 * cost than a pipeline, and an outcome is the write a work's life makes most often. A failure's
 * retry time derives from the document (its counted attempts), so it is a pipeline.
 */
function write(outcome: Outcome, now: number): Write {
  const set = reported(outcome);
  const stop = outcome.stop ?? now;
  const { transition } = outcome;
  if (transition === "progress" || transition === "reply") return { update: { $set: set } };
  // The claim keeps the late outcome's stop: a second one is refused, the same one sent again is not.
  if (transition === "late") return { update: { $set: { ...set, stop, "claim.late": stop } } };
  const status = TRANSITIONS[transition].to;
  if (transition === "succeed") {
    return {
      update: {
        $set: {
          ...set,
          status,
          stop,
          "history.$[current].stop": stop,
          "history.$[current].status": status,
        },
        $unset: SUCCEEDED_UNSET,
      },
      arrayFilters: [{ "current.attempt": outcome.attempt }],
    };
  }
  // `$literal` keeps the worker's strings, like "$x", from being read as paths.
  const literal = Object.fromEntries(Object.entries(set).map(([k, v]) => [k, { $literal: v }]));
  // An admin's fields go in a stage of their own: the retry time below reads the lowered retries.
  const admin = Object.entries(outcome.admin ?? {});
  return {
    update: [
      ...(admin.length > 0
        ? [{ $set: Object.fromEntries(admin.map(([k, v]) => [k, { $literal: v }])) }]
        : []),
      {
        $set: {
          ...literal,
          status,
          stop,
          history: closeCurrentEntry(stop, status, outcome.error),
          retryAt: retryAtAfter(now),
        },
      },
      { $unset: [...ATTEMPT_FIELDS] },
    ],
  };
}

/**
 * Records outcomes, each one conditional update fenced by its attempt and the statuses its
 * transition starts from. Answers the ids that no longer matched (another writer came first).
 */
export async function recordOutcomes(
  collection: Collection<WorkDoc>,
  outcomes: Outcome[],
  now: number,
): Promise<Set<string>> {
  if (outcomes.length === 0) return new Set();
  const writes = outcomes.map((outcome) => write(outcome, now));
  const result = await collection
    .bulkWrite(
      outcomes.map((outcome, i) => ({
        updateOne: {
          filter: {
            _id: outcome._id,
            pipeline: outcome.pipeline,
            attempt: outcome.attempt,
            status: { $in: [...TRANSITIONS[outcome.transition].from] },
            // Every claim writes its attempt's entry; an array filter on a work without one fails.
            "history.attempt": outcome.attempt,
            ...(outcome.transition === "late" ? { "claim.late": { $exists: false } } : {}),
          },
          ...(writes[i] as Write),
        },
      })),
      // Journaled: a reported outcome survives a crash of mongod.
      { ordered: false, writeConcern: { journal: true } },
    )
    .catch((error: unknown) => {
      const measured = writes.map((w, i) => ({ _id: (outcomes[i] as Outcome)._id, ...w }));
      throw oversizedError(measured, error) ?? error;
    });
  if (result.matchedCount === outcomes.length) return new Set();
  // Rare: another writer moved some between our read and write. Those that show our own stop in
  // their attempt's history were ours.
  const docs = await collection
    .find(
      {
        _id: { $in: outcomes.map((o) => o._id) },
        pipeline: { $in: [...new Set(outcomes.map((o) => o.pipeline))] },
      },
      { projection: { attempt: 1, status: 1, history: 1, stop: 1, "claim.late": 1 } },
    )
    .toArray();
  const byId = new Map(docs.map((d) => [d._id.toHexString(), d]));
  const missed = new Set<string>();
  for (const outcome of outcomes) {
    const id = outcome._id.toHexString();
    const doc = byId.get(id);
    const entry = doc?.history?.find((h) => h.attempt === outcome.attempt);
    const stop = outcome.stop ?? now;
    const ours =
      doc?.attempt === outcome.attempt &&
      (outcome.transition === "late"
        ? doc.claim?.late === stop
        : outcome.transition === "progress" || outcome.transition === "reply"
          ? true
          : entry?.status === TRANSITIONS[outcome.transition].to && entry.stop === stop);
    if (!ours) missed.add(id);
  }
  return missed;
}
