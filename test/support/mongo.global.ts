import { MongoMemoryReplSet } from "mongodb-memory-server";
import type { TestProject } from "vitest/node";
import { mongodPort } from "./mongod-port.js";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

// One mongod for the whole test run; each test file takes its own database (see ./db.ts). It is a
// replica set of one member, as production runs on a replica set: change streams wake waiting
// withdraws across instances, and transactions are there, in every test.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Generous: on a loaded machine mongod may take longer than the library's 10 s to start.
  const server = await MongoMemoryReplSet.create({
    replSet: { count: 1 },
    instanceOpts: [{ port: mongodPort(), launchTimeout: 60_000 }],
  });
  await server.waitUntilRunning();
  project.provide("mongoUri", server.getUri());
  return async () => {
    await server.stop();
  };
}
