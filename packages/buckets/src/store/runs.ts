import type { Condition, Growth, RunStatus, Slack } from "@workflow/work";
import { type Collection, type Db, type Filter, ObjectId } from "mongodb";
import { runLimitStore } from "./run-limits.js";
import { scatter } from "./scatter.js";

export type { RunStatus };
export type StepOutcome = "success" | "failure" | "skipped" | "cancelled";

export interface RunStep {
  name: string;
  needs: string[];
  if: Condition;
  maxParallel?: number;
  failFast: boolean;
  /** Whether it has a matrix: then `needs.<it>.results` is a list, in matrix order. */
  matrix: boolean;
  /** How many works the step has. */
  works: number;
  /** Whether its needs were met (or it has none): its works may be queued. */
  released: boolean;
  /** Set once every work of the step has a final outcome. */
  outcome?: StepOutcome;
  /** A step whose works are made when its needs end, from their results (see ../service/runs/fanout.ts). */
  growth?: Growth;
  /** Whether they were made (`works` counts them); a rerun of its needs makes them again. */
  grown?: boolean;
  /** `matrix.from`: the step it runs once per work of; a work whose own line failed is skipped. */
  from?: string;
}

export interface RunEvent {
  at: number;
  kind: string;
  step?: string;
  detail?: string;
}

/** What a run sends once it ends (its callback, its Slack message), retried until sent or given up. */
export interface Delivery {
  /** When the next attempt is due (unix seconds); absent once delivered or given up. */
  due?: number;
  attempts: number;
  delivered?: number;
  error?: string;
}

export interface Callback extends Delivery {
  url: string;
}

/** The run's one Slack message: where it goes and what it shows (the config's notify.slack). */
export interface SlackDelivery extends Delivery {
  target: Slack;
}

export type DeliveryKind = "callback" | "slack";

/** A run of a pipeline config: its steps' states and its events; its works live in `works`. */
export interface RunDoc {
  _id: ObjectId;
  name: string;
  user: string;
  pipelines: string[];
  status: RunStatus;
  created: number;
  finished?: number;
  params: Record<string, unknown>;
  /** The config as given, for reruns and for CHIME's configs API. */
  config: Record<string, unknown>;
  steps: RunStep[];
  events: RunEvent[];
  callback?: Callback;
  /** When the config's `timeout` passes (unix seconds): the run then ends `timedout`. */
  deadline?: number;
  /** The config's top-level `max-parallel`: its works queued or running at once, all steps. */
  maxParallel?: number;
  /** Since when it is paused (unix seconds): nothing of it is queued until it is resumed. */
  paused?: number;
  /** The one Slack message of the run, when the config asks for it. */
  slack?: SlackDelivery;
  /**
   * Set while its works are being stored: it is not evaluated until they all are. A run still
   * creating long after it began was cut short by a crash (its request was never answered).
   */
  creating?: boolean;
  /**
   * Set, with what it reruns, while a rerun puts the run's works back to waiting: the run is not
   * evaluated until they all are (it would see their old outcomes and end again). A rerun still
   * pending long after it began was cut short by a crash: the sweep finishes it.
   */
  rerunning?: Rerun;
  /**
   * Set, with all it changes, while a merge (POST /runs/:id/steps) swaps steps: the run is not
   * evaluated until it is done, and an evaluation that finds it set (its merger died) finishes it.
   */
  merging?: Merging;
  /** Held by the instance evaluating the run, until then (unix seconds). */
  lockUntil?: number;
  lockId?: ObjectId;
  /** Set by a writer that found the run locked: the holder evaluates again before unlocking. */
  dirty?: boolean;
  /** When an evaluation last looked at the run. */
  checked?: number;
}

/** What a rerun sends back to waiting (see RunWorkStore.rerun), and when it began. */
export interface Rerun {
  at: number;
  steps: string[];
  ids?: ObjectId[];
  failedOnly: boolean;
  unfinishedOnly?: boolean;
  downstream: string[];
}

/** A merge's intent, recorded on its run before any work changes (see service/runs/merge.ts). */
export interface Merging {
  /** Marks the works it makes (WorkDoc.merged). */
  id: ObjectId;
  at: number;
  added: string[];
  replaced: string[];
  /** The steps after a replaced one, which run again. */
  again: string[];
  /** How many works it makes: all stored, the merge goes on; fewer, it is undone. */
  works: number;
  /** The run's config, steps and pipelines once merged. */
  config: Record<string, unknown>;
  steps: RunStep[];
  pipelines: string[];
}

export const RUNS = "runs";

export const runs = (db: Db): Collection<RunDoc> => db.collection<RunDoc>(RUNS);

/** Due deliveries one claim tries: others instances may take the first ones meanwhile. */
const DELIVERY_CANDIDATES = 8;

/** Seconds an evaluation may hold a run before another instance takes over. */
export const LOCK_SECONDS = 30;

/** What `unlock` found: given back, kept for one more evaluation (marked dirty), or taken over. */
export type Unlocked = "unlocked" | "dirty" | "lost";

export interface RunFilter {
  user?: string | undefined;
  name?: string | undefined;
  status?: RunStatus | undefined;
  /** Only runs all of whose pipelines are among these. */
  within?: string[] | undefined;
}

function toFilter(f: RunFilter): Filter<RunDoc> {
  const filter: Filter<RunDoc> = {};
  if (f.user) filter.user = f.user;
  if (f.name) filter.name = f.name;
  if (f.status) filter.status = f.status;
  if (f.within) filter.pipelines = { $not: { $elemMatch: { $nin: f.within } } };
  return filter;
}

export function runStore(db: Db) {
  const collection = runs(db);
  return {
    ...runLimitStore(collection),
    ensureIndexes: () =>
      collection.createIndexes([
        { name: "user_created", key: { user: 1, created: -1 } },
        { name: "name_created", key: { name: 1, created: -1 } },
        { name: "status", key: { status: 1, checked: 1 } },
        { name: "callback_due", key: { "callback.due": 1 }, sparse: true },
        { name: "slack_due", key: { "slack.due": 1 }, sparse: true },
        { name: "creating", key: { creating: 1, created: 1 }, sparse: true },
        { name: "rerunning", key: { "rerunning.at": 1 }, sparse: true },
        {
          name: "deadline",
          key: { deadline: 1 },
          partialFilterExpression: { status: "running", deadline: { $exists: true } },
        },
      ]),
    insert: async (doc: RunDoc) => {
      await collection.insertOne(doc, { writeConcern: { journal: true } });
    },
    remove: async (_id: ObjectId) => {
      await collection.deleteOne({ _id });
    },
    get: (_id: ObjectId) => collection.findOne({ _id }),
    list: (f: RunFilter, limit: number, skip: number) =>
      collection
        .find(toFilter(f), { projection: { config: 0, events: 0 } })
        .sort({ created: -1, _id: -1 })
        .skip(skip)
        .limit(limit)
        .toArray(),
    count: (f: RunFilter) => collection.countDocuments(toFilter(f)),
    /** Takes the run's evaluation lock; answers the lock id, or null when another holds it. */
    lock: async (_id: ObjectId, now: number): Promise<ObjectId | null> => {
      const lockId = new ObjectId();
      const { matchedCount } = await collection.updateOne(
        { _id, $or: [{ lockUntil: { $exists: false } }, { lockUntil: { $lt: now } }] },
        { $set: { lockUntil: now + LOCK_SECONDS, lockId, dirty: false, checked: now } },
      );
      return matchedCount === 1 ? lockId : null;
    },
    markDirty: async (_id: ObjectId) => {
      await collection.updateOne({ _id, lockUntil: { $exists: true } }, { $set: { dirty: true } });
    },
    /** Whether this lock still holds the run: another evaluation takes it over once it lapses. */
    holds: async (_id: ObjectId, lockId: ObjectId): Promise<boolean> =>
      (await collection.countDocuments({ _id, lockId }, { limit: 1 })) === 1,
    /**
     * Gives the lock back unless a writer marked the run dirty meanwhile (then it is kept for one
     * more evaluation); `lost` once another evaluation has taken it over.
     */
    unlock: async (_id: ObjectId, lockId: ObjectId): Promise<Unlocked> => {
      const { matchedCount } = await collection.updateOne(
        { _id, lockId, dirty: { $ne: true } },
        { $unset: { lockUntil: "", lockId: "", dirty: "" } },
      );
      if (matchedCount === 1) return "unlocked";
      const kept = await collection.updateOne({ _id, lockId }, { $set: { dirty: false } });
      return kept.matchedCount === 1 ? "dirty" : "lost";
    },
    /** Gives the lock back as it is, dirty or not: the sweep evaluates the run again. */
    letGo: async (_id: ObjectId, lockId: ObjectId) => {
      await collection.updateOne({ _id, lockId }, { $unset: { lockUntil: "", lockId: "" } });
    },
    /** Writes what an evaluation decided, while it still holds the lock. */
    save: async (
      _id: ObjectId,
      lockId: ObjectId | undefined,
      set: Partial<RunDoc>,
      events: RunEvent[],
      unset: (keyof RunDoc)[] = [],
    ) => {
      const { matchedCount } = await collection.updateOne(lockId ? { _id, lockId } : { _id }, {
        ...(Object.keys(set).length > 0 ? { $set: set } : {}),
        ...(events.length > 0 ? { $push: { events: { $each: events } } } : {}),
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, ""])) } : {}),
      });
      return matchedCount === 1;
    },
    /** Moves a run from one status to another; answers whether it did. */
    setStatus: async (
      _id: ObjectId,
      from: RunStatus[],
      set: Partial<RunDoc>,
      events: RunEvent[],
      unset: string[] = [],
    ) => {
      const { matchedCount } = await collection.updateOne(
        { _id, status: { $in: from } },
        {
          $set: set,
          $push: { events: { $each: events } },
          ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((k) => [k, ""])) } : {}),
        },
      );
      return matchedCount === 1;
    },
    /** Its works are all stored: it may be evaluated from now on. */
    created: async (_id: ObjectId) => {
      await collection.updateOne({ _id }, { $unset: { creating: "" } });
    },
    /** Its rerun's works are all back to waiting: it may be evaluated again. */
    rerunDone: async (_id: ObjectId, at: number) => {
      await collection.updateOne({ _id, "rerunning.at": at }, { $unset: { rerunning: "" } });
    },
    /** Running runs whose rerun began before `before` and never finished (not those cancelled since). */
    abandonedReruns: (before: number, limit: number) =>
      collection
        .find(
          { "rerunning.at": { $lt: before }, status: "running" },
          {
            ...scatter("the sweep for cut-short reruns"),
            projection: { rerunning: 1, pipelines: 1 },
          },
        )
        .limit(limit)
        .toArray(),
    /** Runs whose creation began before `before` and never finished. */
    abandoned: (before: number, limit: number) =>
      collection
        .find(
          { creating: true, created: { $lt: before } },
          { ...scatter("the sweep for cut-short creations"), projection: { config: 0 } },
        )
        .limit(limit)
        .toArray(),
    /** Running runs no evaluation has looked at since `before`: the sweep's list. */
    stale: (before: number, limit: number) =>
      collection
        .find(
          {
            status: "running",
            creating: { $ne: true },
            $or: [{ checked: { $lt: before } }, { checked: { $exists: false } }],
          },
          { ...scatter("the sweep for runs no evaluation looked at"), projection: { _id: 1 } },
        )
        .limit(limit)
        .map((d) => d._id)
        .toArray(),
    /**
     * Claims a due delivery: pushes its next attempt out first, so one instance sends it. The due
     * runs are read first (every shard), then one is claimed by its id (its shard): a single-document
     * write without the shard key could not be routed.
     */
    claimDelivery: async (kind: DeliveryKind, now: number, retryAt: number) => {
      const due = { [`${kind}.due`]: { $lte: now } };
      const candidates = await collection
        .find(due, {
          ...scatter("the sweep for due deliveries"),
          projection: { _id: 1 },
          limit: DELIVERY_CANDIDATES,
        })
        .toArray();
      for (const { _id } of candidates) {
        const claimed = await collection.findOneAndUpdate(
          { _id, ...due },
          { $set: { [`${kind}.due`]: retryAt }, $inc: { [`${kind}.attempts`]: 1 } },
          { returnDocument: "after", projection: { config: 0 } },
        );
        if (claimed) return claimed;
      }
      return null;
    },
    /** Puts a claimed delivery back, due at `due`, as if it had not been attempted. */
    deferDelivery: async (kind: DeliveryKind, _id: ObjectId, due: number) => {
      await collection.updateOne(
        { _id },
        { $set: { [`${kind}.due`]: due }, $inc: { [`${kind}.attempts`]: -1 } },
      );
    },
    deliveryDone: async (
      kind: DeliveryKind,
      _id: ObjectId,
      set: Partial<Delivery>,
      unsetDue: boolean,
    ) => {
      const fields = Object.fromEntries(Object.entries(set).map(([k, v]) => [`${kind}.${k}`, v]));
      await collection.updateOne(
        { _id },
        { $set: fields, ...(unsetDue ? { $unset: { [`${kind}.due`]: "" } } : {}) },
      );
    },
  };
}

export type RunStore = ReturnType<typeof runStore>;
