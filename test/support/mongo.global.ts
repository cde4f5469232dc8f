import { MongoMemoryServer } from "mongodb-memory-server";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    mongoUri: string;
  }
}

// One mongod for the whole test run; each test file takes its own database (see ./db.ts).
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Generous: on a loaded machine mongod may take longer than the library's 10 s to start.
  const server = await MongoMemoryServer.create({ instance: { launchTimeout: 60_000 } });
  project.provide("mongoUri", server.getUri());
  return async () => {
    await server.stop();
  };
}
