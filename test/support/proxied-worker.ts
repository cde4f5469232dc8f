import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { type Owned, workerProcess } from "./processes.js";
import { type CuttingProxy, startCuttingProxy } from "./proxy.js";
import { type Stack, useStack } from "./stack.js";
import { standIn } from "./stand-in.js";

/**
 * A file's worker processes that reach the service only through a cutting proxy, for the tests of
 * what a worker does while the service is slow or refuses: the stack (`useStack`), the proxy in
 * front of it and a scratch directory the workers run in, made before the file's tests and removed
 * after them. Each worker is SIGKILLed after its test.
 */
export function useProxiedWorker(file: string): {
  stack: Stack;
  proxy: CuttingProxy;
  /** A path in the scratch directory. */
  scratch: (name: string) => string;
  /** A worker process of `pipeline` through the proxy, for one work, run in the scratch directory. */
  startWorker: (pipeline: string) => Owned;
} {
  const { stack, owned } = useStack(file);
  let proxy: CuttingProxy | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    proxy = await startCuttingProxy(stack.url);
    dir = mkdtempSync(join(tmpdir(), "proxied-worker-"));
  });
  afterAll(async () => {
    await proxy?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const here = () => {
    if (dir === undefined)
      throw new Error("the scratch directory is used before the hook that makes it");
    return dir;
  };
  const startWorker = (pipeline: string) => {
    const worker = workerProcess(
      [pipeline, "--url", (proxy as CuttingProxy).url, "--lives", "1", "--sleep", "0.1"],
      { WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]) },
      here(),
    );
    owned.push(worker);
    return worker;
  };
  return {
    stack,
    proxy: standIn(() => proxy, "the proxy"),
    scratch: (name) => join(here(), name),
    startWorker,
  };
}
