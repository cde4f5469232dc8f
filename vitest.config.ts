import { defineConfig } from "vitest/config";

// One vitest run for the whole repository, so one mongod serves every package's tests.
export default defineConfig({
  test: {
    globalSetup: ["./test/support/mongo.global.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Stopping the run's mongod (under Wine on the team's machines) may outlast vitest's 10 s.
    teardownTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "work", include: ["packages/work/test/**/*.test.ts"] } },
      {
        extends: true,
        test: {
          name: "buckets",
          include: ["packages/buckets/test/**/*.test.ts"],
          exclude: ["packages/buckets/test/replset.test.ts"],
        },
      },
      { extends: true, test: { name: "worker", include: ["packages/worker/test/**/*.test.ts"] } },
      { extends: true, test: { name: "repo", include: ["test/**/*.test.ts"] } },
      // Two more mongods, each a Wine process on the team's machines: beside 2 cores' worth of
      // other test files a member could stall past the driver's timeouts. So it runs last, alone.
      {
        extends: true,
        test: {
          name: "replica-set",
          include: ["packages/buckets/test/replset.test.ts"],
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
