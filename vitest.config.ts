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
      { extends: true, test: { name: "buckets", include: ["packages/buckets/test/**/*.test.ts"] } },
      { extends: true, test: { name: "worker", include: ["packages/worker/test/**/*.test.ts"] } },
      { extends: true, test: { name: "repo", include: ["test/**/*.test.ts"] } },
    ],
  },
});
