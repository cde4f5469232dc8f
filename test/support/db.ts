import { createHash } from "node:crypto";
import { type Db, MongoClient } from "mongodb";
import { inject } from "vitest";

/** The URI of the run's mongod, without a database. */
export function mongoUri(): string {
  return inject("mongoUri");
}

/** A database name unique to one test file (and an optional label), short enough for MongoDB. */
export function databaseName(file: string, label = ""): string {
  const hash = createHash("sha1").update(`${file}:${label}`).digest("hex").slice(0, 12);
  const base = file
    .split("/")
    .pop()
    ?.replace(/\.test\.ts$/, "")
    .replace(/[^a-zA-Z0-9]/g, "_");
  return `t_${base}_${hash}`.slice(0, 60);
}

/** Opens the test file's own database (emptied first unless `drop` is false); the caller closes it. */
export async function testDb(
  file: string,
  label = "",
  { drop = true }: { drop?: boolean } = {},
): Promise<{ client: MongoClient; db: Db; uri: string }> {
  const client = await MongoClient.connect(mongoUri());
  const name = databaseName(file, label);
  const db = client.db(name);
  if (drop) await db.dropDatabase();
  return { client, db, uri: uriFor(name) };
}

/** The run's mongod URI pointing at one database. */
export function uriFor(database: string): string {
  const url = new URL(mongoUri());
  url.pathname = `/${database}`;
  return url.toString();
}
