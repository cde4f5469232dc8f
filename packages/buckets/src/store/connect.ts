/** Connects to MongoDB, or starts an embedded mongod in the data directory. */

import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type CommandStartedEvent, type Db, MongoClient, MongoServerSelectionError } from "mongodb";
import type { MongoMemoryServer } from "mongodb-memory-server";

export interface Database {
  client: MongoClient;
  db: Db;
  /** Where the embedded mongod listens, when the service started one. */
  embeddedUri?: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  uri?: string | undefined;
  dataDir: string;
  dbName: string;
  /** Sees every command sent (tests that check what reaches MongoDB); unset, none is monitored. */
  onCommand?: ((event: CommandStartedEvent) => void) | undefined;
}

/** How long a request waits for a reachable MongoDB member, at boot as later. */
const SELECTION_SECONDS = 5;

/** Connects to MONGODB_URI, or starts an embedded mongod whose data lives in the data directory. */
export async function connect(options: ConnectOptions): Promise<Database> {
  let embedded: MongoMemoryServer | undefined;
  let uri = options.uri;
  if (!uri) {
    // Imported here so that a deployment with MONGODB_URI never loads it.
    const { MongoMemoryServer } = await import("mongodb-memory-server");
    const dbPath = resolve(options.dataDir, "db");
    mkdirSync(dbPath, { recursive: true });
    embedded = await MongoMemoryServer.create({
      // A first start on a busy laptop can take longer than mongodb-memory-server's 10 s.
      instance: { dbPath, storageEngine: "wiredTiger", launchTimeout: 60_000 },
    });
    uri = embedded.getUri();
  }
  const client = new MongoClient(uri, {
    serverSelectionTimeoutMS: SELECTION_SECONDS * 1000,
    appName: "buckets",
    ...(options.onCommand ? { monitorCommands: true } : {}),
  });
  if (options.onCommand) client.on("commandStarted", options.onCommand);
  try {
    await client.connect();
  } catch (error) {
    await client.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    if (!(error instanceof MongoServerSelectionError)) throw error;
    throw new Error(
      `cannot reach MongoDB at ${withoutSecrets(uri)} within ${SELECTION_SECONDS} s (${error.message}): check MONGODB_URI, and that mongod runs and accepts connections from this machine`,
    );
  }
  const db = client.db(databaseIn(uri) || options.dbName);
  return {
    client,
    db,
    ...(embedded ? { embeddedUri: uri } : {}),
    async close() {
      await client.close();
      await embedded?.stop({ doCleanup: true, force: false });
    },
  };
}

/** Scheme and hosts only: a URI may carry a password, in its user part or in its options. */
function withoutSecrets(uri: string): string {
  return (
    /^(mongodb(?:\+srv)?:\/\/)(?:[^@/]*@)?([^/?]*)/.exec(uri)?.slice(1).join("") ?? "the URI given"
  );
}

/** The database a MongoDB URI names, if any (`mongodb://h1,h2/db?opts` gives `db`). */
export function databaseIn(uri: string): string | undefined {
  const match = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : undefined;
}
