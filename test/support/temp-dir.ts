/** A test file's own temporary directory, made at once and removed after its tests. */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * A fresh directory under the system's temporary one, removed with all in it after the file's
 * tests. Call it before the hooks that start what uses it (a stack, workers): vitest runs after-all
 * hooks last registered first, so theirs end those processes before this one removes the directory.
 */
export function useTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
