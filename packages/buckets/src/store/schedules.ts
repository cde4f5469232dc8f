/** The store of schedules and their ticks, each tick written once. */

import type { Missed, ScheduleTarget } from "@workflow/work";
import { type Collection, type Db, type Filter, MongoServerError, ObjectId } from "mongodb";

/** The rights a schedule deposits with: those of the token that created it. */
export interface ScheduleOwner {
  sub: string;
  scopes: string[];
  pipelines?: string[];
  exp?: number;
}

export interface ScheduleDoc {
  _id: ObjectId;
  user: string;
  name: string;
  cron: string;
  timezone: string;
  target: ScheduleTarget;
  /** Fires left; -1 for ever. */
  lives: number;
  missed: Missed;
  enabled: boolean;
  /** The pipelines its target deposits to: who may see it. */
  pipelines: string[];
  owner: ScheduleOwner;
  created: number;
  /** The next tick due (unix seconds); null once no lives are left. */
  nextRun: number | null;
  fired: number;
  pausedReason?: string;
  /** The deployed config whose `on:` made it: removing the config removes it. */
  config?: string;
}

/** One tick: its key (schedule, tick) is unique, so no second evaluation deposits it again. */
export interface TickDoc {
  _id: ObjectId;
  schedule: ObjectId;
  tick: number;
  fired: number;
  works?: string[];
  run?: string;
  error?: string;
}

export const SCHEDULES = "schedules";
export const SCHEDULE_TICKS = "schedule_ticks";

const DUPLICATE_KEY = 11000;
const isDuplicate = (error: unknown) =>
  error instanceof MongoServerError && error.code === DUPLICATE_KEY;

export interface ScheduleFilter {
  user?: string | undefined;
  /** Only schedules all of whose pipelines are among these. */
  within?: string[] | undefined;
}

/** What advancing a schedule past a tick changes. */
export interface Advance {
  nextRun: number | null;
  lives: number;
  fired: number;
}

/** Schedules and their ticks: the only module that touches either collection. */
export function scheduleStore(db: Db) {
  const schedules = db.collection<ScheduleDoc>(SCHEDULES);
  const ticks: Collection<TickDoc> = db.collection<TickDoc>(SCHEDULE_TICKS);
  const toFilter = (f: ScheduleFilter): Filter<ScheduleDoc> => ({
    ...(f.user === undefined ? {} : { user: f.user }),
    ...(f.within === undefined ? {} : { pipelines: { $not: { $elemMatch: { $nin: f.within } } } }),
  });
  return {
    ensureIndexes: async () => {
      await schedules.createIndexes([
        { name: "user_name", key: { user: 1, name: 1 }, unique: true },
        // The ticker's query: enabled schedules whose next run is due.
        { name: "due", key: { enabled: 1, nextRun: 1 } },
      ]);
      await ticks.createIndexes([
        { name: "schedule_tick", key: { schedule: 1, tick: -1 }, unique: true },
      ]);
    },
    /** Answers false when the owner already has a schedule of that name. */
    insert: async (doc: ScheduleDoc): Promise<boolean> => {
      try {
        await schedules.insertOne(doc);
        return true;
      } catch (error) {
        if (isDuplicate(error)) return false;
        throw error;
      }
    },
    get: (id: ObjectId) => schedules.findOne({ _id: id }),
    list: (filter: ScheduleFilter, limit: number) =>
      schedules.find(toFilter(filter)).sort({ user: 1, name: 1 }).limit(limit).toArray(),
    /** Enabled schedules due at `now`, soonest first. */
    due: (now: number, limit: number) =>
      schedules
        .find({ enabled: true, nextRun: { $ne: null, $lte: now } })
        .sort({ nextRun: 1 })
        .limit(limit)
        .toArray(),
    /**
     * Moves a schedule past the tick it was due for, only if nobody did first: of several
     * instances evaluating the same schedule, exactly one gets it back.
     */
    claim: async (id: ObjectId, expected: number, advance: Advance) =>
      (await schedules.findOneAndUpdate(
        { _id: id, enabled: true, nextRun: expected },
        { $set: advance },
        { returnDocument: "after" },
      )) !== null,
    /** Records a tick before it deposits; false when it was recorded already. */
    openTick: async (tick: TickDoc): Promise<boolean> => {
      try {
        await ticks.insertOne(tick);
        return true;
      } catch (error) {
        if (isDuplicate(error)) return false;
        throw error;
      }
    },
    /** By the tick's schedule too: the shard key of ticks (README, Sizing). */
    linkTick: (
      { _id, schedule }: Pick<TickDoc, "_id" | "schedule">,
      link: Pick<TickDoc, "works" | "run" | "error">,
    ) => ticks.updateOne({ _id, schedule }, { $set: link }),
    ticksOf: (schedule: ObjectId, limit: number) =>
      ticks.find({ schedule }).sort({ tick: -1 }).limit(limit).toArray(),
    countTicks: (schedule: ObjectId) => ticks.countDocuments({ schedule }),
    /** Pauses or resumes; resuming forgets why it was paused, and may give it new rights. */
    setEnabled: (id: ObjectId, enabled: boolean, nextRun: number | null, owner?: ScheduleOwner) =>
      schedules.findOneAndUpdate(
        { _id: id },
        enabled
          ? {
              $set: { enabled, nextRun, ...(owner ? { owner } : {}) },
              $unset: { pausedReason: "" },
            }
          : { $set: { enabled, nextRun } },
        { returnDocument: "after" },
      ),
    /** Pauses a schedule the service can no longer fire, saying why. */
    pauseFor: (id: ObjectId, reason: string) =>
      schedules.updateOne({ _id: id }, { $set: { enabled: false, pausedReason: reason } }),
    /** The schedules a user's deployed config made. */
    ofConfig: (user: string, config: string) =>
      schedules.find({ user, config }, { projection: { _id: 1 } }).toArray(),
    remove: async (id: ObjectId) => {
      const { deletedCount } = await schedules.deleteOne({ _id: id });
      await ticks.deleteMany({ schedule: id });
      return deletedCount === 1;
    },
  };
}

export type ScheduleStore = ReturnType<typeof scheduleStore>;

export const newScheduleId = () => new ObjectId();
