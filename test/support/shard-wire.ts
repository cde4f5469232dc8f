import type { CommandStartedEvent, Db, Document } from "mongodb";

/**
 * The shard key of each collection, as README's Sizing decides it; "unsharded" lives on one shard.
 * A collection the service writes that is not here fails the wire test: decide its key first.
 */
export const SHARD_KEYS: Record<string, Record<string, 1 | "hashed"> | "unsharded"> = {
  works: { pipeline: "hashed" },
  logs: { work: "hashed" },
  runs: { _id: "hashed" },
  results: { pipeline: 1, _id: 1 },
  schedule_ticks: { schedule: 1 },
  schedules: "unsharded",
  workers: "unsharded",
};

/** Commands mongos routes by their filter; the rest (indexes, pings, cursors) are not routed so. */
const ROUTED = new Set([
  "find",
  "aggregate",
  "count",
  "distinct",
  "findAndModify",
  "update",
  "delete",
  "insert",
]);

const isOperatorObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" &&
  value !== null &&
  !Array.isArray(value) &&
  !("_bsontype" in value) &&
  !(value instanceof Date) &&
  Object.keys(value).some((key) => key.startsWith("$"));

/** Whether `filter` pins `field` to one value (or, with `orIn`, to a list of values). */
function pins(filter: unknown, field: string, orIn: boolean): boolean {
  if (typeof filter !== "object" || filter === null) return false;
  const f = filter as Record<string, unknown>;
  const and = f.$and;
  if (Array.isArray(and) && and.some((part) => pins(part, field, orIn))) return true;
  const or = f.$or;
  if (Array.isArray(or) && or.length > 0 && or.every((part) => pins(part, field, orIn)))
    return true;
  if (!(field in f)) return false;
  const value = f[field];
  if (!isOperatorObject(value)) return value !== undefined;
  const keys = Object.keys(value);
  if (keys.includes("$eq")) return true;
  return orIn && keys.includes("$in") && Array.isArray(value.$in);
}

const keyFields = (key: Record<string, unknown>) => Object.keys(key);

/** One shard: every field of the key pinned to one value (what a single-document write needs). */
const targetsOne = (filter: unknown, key: Record<string, unknown>) =>
  keyFields(key).every((field) => pins(filter, field, false));

/** Some shards, not all: the key's first field pinned to one value or a list of them. */
const targetsSome = (filter: unknown, key: Record<string, unknown>) =>
  pins(filter, keyFields(key)[0] as string, true);

const show = (value: unknown) => JSON.stringify(value)?.slice(0, 300);

/**
 * Why a command would reach every shard (or a write could not be routed), or nothing. A command
 * that reaches every shard because it is marked so is told to `onMarked`, with its comment.
 */
export function broadcastOf(
  event: CommandStartedEvent,
  onMarked: (comment: string) => void = () => undefined,
): string | undefined {
  const { commandName, command } = event;
  if (!ROUTED.has(commandName)) return undefined;
  if (command.autocommit === false) return `${commandName} in a transaction`;
  const collection = command[commandName];
  if (typeof collection !== "string") return undefined;
  const key = SHARD_KEYS[collection];
  const name = `${commandName} on ${collection}`;
  if (key === undefined) {
    return `${name}: the collection has no shard key decided (add it to SHARD_KEYS and README's Sizing)`;
  }
  if (key === "unsharded") return undefined;
  const marked = typeof command.comment === "string" && command.comment.startsWith("scatter:");
  const scatter = (filter: unknown, what: string) => {
    if (targetsSome(filter, key)) return undefined;
    if (!marked)
      return `${what} without the shard key ${show(key)} and not marked scatter: ${show(filter)}`;
    onMarked(command.comment as string);
    return undefined;
  };
  switch (commandName) {
    case "findAndModify":
      return targetsOne(command.query, key)
        ? undefined
        : `${name} without the shard key ${show(key)} by equality: ${show(command.query)}`;
    case "update":
      for (const { q, multi } of command.updates as Document[]) {
        const problem = multi
          ? scatter(q, `${name} (multi)`)
          : targetsOne(q, key)
            ? undefined
            : `${name} (one document) without the shard key ${show(key)} by equality: ${show(q)}`;
        if (problem) return problem;
      }
      return undefined;
    case "delete":
      for (const { q, limit } of command.deletes as Document[]) {
        const problem =
          limit === 1
            ? targetsOne(q, key)
              ? undefined
              : `${name} (one document) without the shard key ${show(key)} by equality: ${show(q)}`
            : scatter(q, `${name} (many)`);
        if (problem) return problem;
      }
      return undefined;
    case "insert": {
      const missing = (command.documents as Document[]).find((doc) =>
        keyFields(key).some((field) => doc[field] === undefined),
      );
      return missing ? `${name}: a document without the shard key ${show(key)}` : undefined;
    }
    case "aggregate": {
      const [first] = (command.pipeline ?? []) as Document[];
      return scatter(first?.$match, `${name} (first stage ${show(first)})`);
    }
    case "find":
      return scatter(command.filter, name);
    default:
      return scatter(command.query, name);
  }
}

/** Records every command that would broadcast, in order; `first` names the first one. */
export function wireWatch() {
  const broadcasts: string[] = [];
  let marked: string[] = [];
  let seen = 0;
  return {
    onCommand: (event: CommandStartedEvent) => {
      seen++;
      const problem = broadcastOf(event, (comment) => marked.push(comment));
      if (problem) broadcasts.push(problem);
    },
    /** The comments of the listed broadcasts since the last call (each once). */
    takeMarked: () => {
      const taken = [...new Set(marked)];
      marked = [];
      return taken;
    },
    /** How many commands were seen: a watch that saw none proves nothing. */
    seen: () => seen,
    first: () => broadcasts[0],
    /** Every one, each once, in the order first seen. */
    all: () => [...new Set(broadcasts)],
  };
}

/** Unique indexes not prefixed by their collection's shard key (`_id` is MongoDB's own). */
export async function uniqueIndexesOffKey(db: Db): Promise<string[]> {
  const off: string[] = [];
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    const key = SHARD_KEYS[name];
    if (key === undefined || key === "unsharded") continue;
    const prefix = keyFields(key);
    for (const index of await db.collection(name).listIndexes().toArray()) {
      if (!index.unique || index.name === "_id_") continue;
      const fields = Object.keys(index.key as Document);
      if (!prefix.every((field, i) => fields[i] === field)) off.push(`${name}.${index.name}`);
    }
  }
  return off;
}
