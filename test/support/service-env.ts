import { databaseName, uriFor } from "./db.js";

/**
 * How every test starts the service: the one secret its tokens are signed with, and the
 * environment it reads (127.0.0.1 port 0, the test file's own database, no log).
 */

export const TEST_SECRET = "test-secret-for-the-tests-0123456789";

/** The service's environment for `file` (and `label`, for a second database), with `env` on top. */
export function testServiceEnv(
  file: string,
  label = "",
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    PORT: "0",
    HOST: "127.0.0.1",
    MONGODB_URI: uriFor(databaseName(file, label)),
    BUCKETS_JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "silent",
    ...env,
  };
}
