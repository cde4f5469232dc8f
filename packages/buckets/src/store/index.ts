/**
 * The store: the only door to MongoDB (test/layers.test.ts keeps it so). The service reads and
 * writes all it keeps through it: works, runs, logs, schedules, results, the cache.
 */

import type { Db, Filter } from "mongodb";
import { activityStore } from "./activity.js";
import { cacheStore } from "./cache.js";
import { cancel } from "./cancel.js";
import {
  CLAIM_SORT,
  type Claimant,
  type ClaimOptions,
  claimable,
  claimMany,
  claimOne,
  peek,
} from "./claim.js";
import { serverTime } from "./clock.js";
import { contactStore } from "./contacts.js";
import { depositWorks } from "./deposit.js";
import { type Holder, type WorkDoc, works } from "./documents.js";
import { StoreError } from "./errors.js";
import { countWorks, type FindOptions, findByIds, findWorks } from "./find.js";
import { type ObjectId, toObjectId } from "./ids.js";
import { ensureIndexes } from "./indexes.js";
import { heartbeat, release } from "./lease.js";
import { logStore } from "./logs.js";
import { type Outcome, recordOutcomes } from "./outcome.js";
import { auditExpired, auditStale, lapse, requeueFailed } from "./reap.js";
import { removeWorks } from "./remove.js";
import { resultStore } from "./results.js";
import { ensureRetention, stampFinished } from "./retention.js";
import { runWorkStore } from "./run-works.js";
import { runStore } from "./runs.js";
import { scatter } from "./scatter.js";
import { scheduleStore } from "./schedules.js";
import { listPipelines, workCounts } from "./status.js";
import { type Replacement, updateWorks } from "./update.js";
import { supportsChangeStreams, watchQueued } from "./watch.js";

export type { MinuteRow, Sighting } from "./activity.js";
export type { CacheSource, Within } from "./cache.js";
export {
  type BatchClaim,
  type Claimant,
  type ClaimOptions,
  DEADLINE_GRACE_SECONDS,
} from "./claim.js";
export type { ContactDoc } from "./contacts.js";
export {
  type HeldBy,
  type Holder,
  isHeldBy,
  present,
  presentFields,
  presentPlaced,
  type WorkDoc,
  type WorkView,
} from "./documents.js";
export { refusedDocuments, StoreError, type StoreFailure, toStoreError } from "./errors.js";
export type { FindOptions } from "./find.js";
export { freshObjectId, newId, type ObjectId, toObjectId } from "./ids.js";
export type { HeartbeatResult, Missed } from "./lease.js";
export type { Outcome } from "./outcome.js";
export { MAX_DOCUMENT_BYTES, type Oversized, oversizedMessage } from "./oversize.js";
export type { Ended } from "./reap.js";
export {
  presentResult,
  type ResultDoc,
  type ResultStore,
  type ResultView,
} from "./results.js";
export { ofRun, type RunRef, type StepCounts, type Unblock } from "./run-works.js";
export type {
  Callback,
  Delivery,
  DeliveryKind,
  Merging,
  Rerun,
  RunDoc,
  RunEvent,
  RunFilter,
  RunStatus,
  RunStep,
  StepOutcome,
  Unlocked,
} from "./runs.js";
export { LOCK_SECONDS } from "./runs.js";
export type { ScheduleDoc, ScheduleOwner, TickDoc } from "./schedules.js";
export type { Replacement } from "./update.js";

/** How long /readyz waits for MongoDB to answer a ping. */
const PING_TIMEOUT_MS = 2_000;

/** A compiled, allow-listed query (see ../query.ts). */
export type Query = Record<string, unknown>;

/** The only door to MongoDB: one function per operation, each in its own module. */
export function createStore(db: Db) {
  const collection = works(db);
  const filter = (query: Query) => query as Filter<WorkDoc>;
  const runs = runStore(db);
  const logs = logStore(db);
  const schedules = scheduleStore(db);
  const counts = workCounts(collection);
  const results = resultStore(db);
  const contacts = contactStore(db);
  return {
    ensureIndexes: async () => {
      await ensureIndexes(collection);
      await runs.ensureIndexes();
      await logs.ensureIndexes();
      await schedules.ensureIndexes();
      await results.ensureIndexes();
      await contacts.ensureIndexes();
    },
    contacts,
    results,
    runs,
    logs,
    schedules,
    runWorks: runWorkStore(collection, logs),
    cache: cacheStore(collection),
    activity: activityStore(collection),
    ensureRetention: async (days: number | undefined) => {
      await ensureRetention(db, collection, days);
      await logs.ensureRetention(days);
    },
    stampFinished: (now: number, options?: { awaitTransfer?: boolean }) =>
      stampFinished(collection, now, options),
    ping: async () => {
      // The driver ignores `timeoutMS` (deprecated, no effect): a signal bounds the probe, and its
      // reason is what the driver throws.
      const bound = new AbortController();
      const timer = setTimeout(
        () =>
          bound.abort(
            new StoreError("unavailable", "MongoDB did not answer within 2 s; retry shortly"),
          ),
        PING_TIMEOUT_MS,
      );
      try {
        await db.command({ ping: 1 }, { signal: bound.signal });
      } finally {
        clearTimeout(timer);
      }
    },
    deposit: (docs: WorkDoc[]) => depositWorks(collection, docs),
    claim: (query: Query, claimant: Claimant, options: ClaimOptions) =>
      claimOne(collection, filter(query), claimant, options),
    claimMany: (query: Query, ids: ObjectId[], claimants: Claimant[], options: ClaimOptions) =>
      claimMany(collection, filter(query), ids, claimants, options),
    find: (query: Query, options?: FindOptions) => findWorks(collection, filter(query), options),
    count: (query: Query) => countWorks(collection, filter(query)),
    /** By id, within `pipelines` when given (their shards); without them, on every shard. */
    findByIds: (ids: string[], pipelines?: string[]) =>
      findByIds(collection, ids.map(toObjectId), pipelines),
    update: (changes: Replacement[]) => updateWorks(collection, changes),
    recordOutcomes: (outcomes: Outcome[], now: number) => recordOutcomes(collection, outcomes, now),
    remove: async (ids: string[]) => {
      const objectIds = ids.map(toObjectId);
      const removed = await removeWorks(collection, objectIds);
      // A removed work's logs go with it (and would be hidden from a work deposited again with its
      // id, if a crash kept them: they belong to its incarnation).
      await logs.removeFor(objectIds);
      return removed;
    },
    heartbeat: (id: string, pipeline: string, attempt: number, now: number, holder: Holder) =>
      heartbeat(collection, { _id: toObjectId(id), pipeline }, attempt, now, holder),
    release: (id: string, pipeline: string, attempt: number, now: number, holder: Holder) =>
      release(collection, { _id: toObjectId(id), pipeline }, attempt, now, holder),
    cancel: (id: string, pipeline: string, now: number) =>
      cancel(collection, { _id: toObjectId(id), pipeline }, now),
    /** A work by id: on its pipeline's shard when the caller knows it, else on every shard. */
    findOne: (id: string, pipeline?: string) =>
      pipeline === undefined
        ? collection.findOne({ _id: toObjectId(id) }, scatter("a work by id alone"))
        : collection.findOne({ _id: toObjectId(id), pipeline }),
    /** The queued pipelines a claim's `pipeline` condition matches, when it names none. */
    queuedPipelines: (condition: unknown) =>
      collection.distinct(
        "pipeline",
        { pipeline: condition, status: "queued" } as Filter<WorkDoc>,
        scatter("the queued pipelines a claim's pattern matches"),
      ),
    peek: (query: Query, now: number, limit: number, besides?: ObjectId[]) =>
      peek(collection, filter(query), now, limit, besides),
    lapse: (now: number) => lapse(collection, now),
    retryDue: (now: number) => requeueFailed(collection, { now }),
    auditFailed: (pipelines?: string[]) => requeueFailed(collection, { pipelines }),
    auditExpired: (now: number, pipelines?: string[]) => auditExpired(collection, now, pipelines),
    auditStale: (before: number, now: number, pipelines?: string[]) =>
      auditStale(collection, before, now, pipelines),
    serverTime: () => serverTime(db),
    supportsChangeStreams: () => supportsChangeStreams(db),
    watchQueued: (onQueued: (pipelines?: string[]) => void, onError: (error: unknown) => void) =>
      watchQueued(collection, onQueued, onError),
    countByStatus: (pipelines?: string[]) => counts.byStatus(pipelines),
    countByPipelineAndStatus: () => counts.byPipelineAndStatus(),
    /** The plans behind the counts, for checking that they read no works. */
    explainCounts: () => counts.explain(),
    listPipelines: (within?: string[]) => listPipelines(collection, within),
    /** The claim's query plan, for checking that it stays an index scan. */
    explainClaim: (query: Query, now: number) =>
      collection
        .find(claimable(filter(query), now))
        .sort(CLAIM_SORT)
        .limit(1)
        .explain("queryPlanner"),
  };
}

export type Store = ReturnType<typeof createStore>;
