import type { Work } from "@workflow/work";
import type { Collection, Db, ObjectId } from "mongodb";

/** A work as stored: `_id` an ObjectId, plus fields only the service reads. */
export type WorkDoc = Omit<Work, "id" | "config"> & {
  _id: ObjectId;
  config: Omit<Work["config"], "strategy"> & { strategy?: string };
  /** Not claimed before this (unix seconds); 0 when it may run now. */
  notBefore: number;
  /** When the service received the work (its clock): the claim order after priority. */
  received?: number;
  /**
   * The deposit that stored the work. Its logs are kept under it: an id its depositor chose may
   * be deleted and deposited again, and the new work must never show the old one's logs.
   */
  incarnation?: ObjectId;
  /** start + timeout + grace of the running attempt: the lease never reaches past it. */
  deadline?: number;
  /** Seconds a heartbeat extends the running attempt's lease; absent for claims without a lease. */
  lease?: number;
  /** Marks the works one batch claim took, to read them back. */
  claimToken?: ObjectId;
  /** Who holds the current attempt (written by each claim): see Holder. */
  claim?: HeldBy;
  /** When a finished work stopped, as a date: the retention TTL index counts from it. */
  finishedAt?: Date;
  /**
   * Digest of the deposited content, for works deposited with their own id: a repeated deposit with
   * the same id and digest is a no-op.
   */
  digest?: string;
  /** The run (see runs.ts) and step a pipeline's work belongs to, and its place in the matrix. */
  run?: ObjectId;
  step?: string;
  index?: number;
  /** Set on works a rerun named: their release never takes from the cache. */
  uncached?: boolean;
  /**
   * Its combination of the step's matrix (absent for a step without one); a step `from` another
   * inherits its parent work's, and a step made at run time has the one it was made with.
   */
  matrix?: Record<string, unknown>;
  /** The fields a release fills from the parents' results, as written in the config. */
  template?: Record<string, unknown>;
  /** For a work of a step `from` another: the index of the work of each step it comes from. */
  origins?: Record<string, number>;
  /** The merge (RunDoc.merging) that made it: a merge finished after a crash keeps its works. */
  merged?: ObjectId;
};

/**
 * The claimer of a work's current attempt: its token's subject, and the digest of the claim secret
 * withdraw answered it. `late` is the stop time of the late outcome its worker reported after the
 * work was cancelled under it: there is only one.
 */
export interface HeldBy {
  sub: string;
  secret: string;
  late?: number;
}

/**
 * Who asks to act on an attempt: a token's subject, and the digest of the claim secret it sent (none
 * from a client that sends none, as CHIME's).
 */
export interface Holder {
  sub: string;
  secret?: string | undefined;
}

/**
 * Whether `holder` holds what `held` records. A work claimed before claims were recorded has no
 * claimer: any worker token may act for it, as then.
 */
export function isHeldBy(held: HeldBy | undefined, holder: Holder): boolean {
  if (held?.sub === undefined) return true;
  return held.sub === holder.sub && (holder.secret === undefined || holder.secret === held.secret);
}

/** The same test inside a filter: the store's fenced writes match only the attempt's claimer. */
export function heldByFilter(holder: Holder): Record<string, unknown> {
  return {
    "claim.sub": { $in: [holder.sub, null] },
    ...(holder.secret === undefined ? {} : { "claim.secret": { $in: [holder.secret, null] } }),
  };
}

/** A work as the API shows it: `id` a hex string, internal fields gone. */
export type WorkView = Partial<Work> & {
  id: string;
  /** Only in withdraw's answer: the claim secret of the attempt it claimed. */
  claim?: string;
};

export const COLLECTION = "works";

export function works(db: Db): Collection<WorkDoc> {
  return db.collection<WorkDoc>(COLLECTION);
}

/**
 * A work as views show it: with the step and matrix combination of its run. Withdraw answers go
 * without them (CHIME's workers build their Work from them, and know no such fields).
 */
export function presentPlaced(doc: Partial<WorkDoc>): WorkView {
  const view = present(doc);
  if (doc.step !== undefined) view.step = doc.step;
  if (doc.matrix !== undefined) view.matrix = doc.matrix;
  return view;
}

/** Stored fields the API never shows (`notBefore` only when set). */
const HIDDEN: ReadonlySet<string> = new Set<keyof WorkDoc>([
  "_id",
  "deadline",
  "digest",
  "claimToken",
  "claim",
  "received",
  "incarnation",
  "lease",
  "finishedAt",
  "run",
  "step",
  "index",
  "template",
  "uncached",
  "matrix",
  "origins",
  "merged",
  "notBefore",
]);

/**
 * Copied key by key: a rest destructuring that leaves out this many keys builds a dictionary-mode
 * object, slower to build, to serialise and to collect, on every claim and every outcome.
 */
function viewOf(doc: Partial<WorkDoc>, withId: boolean): WorkView {
  const view: Record<string, unknown> = {};
  if (withId && doc._id !== undefined) view.id = doc._id.toHexString();
  const fields = doc as Record<string, unknown>;
  for (const key in fields) if (!HIDDEN.has(key)) view[key] = fields[key];
  if (doc.notBefore) view.notBefore = doc.notBefore;
  return view as WorkView;
}

/** The API's view of a stored document (which may be projected). */
export const present = (doc: Partial<WorkDoc>): WorkView => viewOf(doc, true);

/** The same without its id: the stored work a PUT's item is laid over. */
export const presentFields = (doc: Partial<WorkDoc>): Partial<Work> =>
  viewOf(doc, false) as Partial<Work>;
