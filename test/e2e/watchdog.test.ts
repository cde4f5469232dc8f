import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { alive, killRecorded, type Owned, pidsIn, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/**
 * A command does not outlive its worker: after kill -9 of the worker, the command's whole process
 * group ends within seconds (SIGTERM, then SIGKILL for what ignores it), while the service re-runs
 * the work elsewhere.
 */

let stack: Stack;
const dir = useTempDir("watchdog-");
const owned: Owned[] = [];
const pidFiles: string[] = [];

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});

afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
  killRecorded(pidFiles.splice(0));
});

afterAll(async () => {
  await stack?.close();
});

it.each([
  [
    "a command and its children",
    (file: string) => `echo $$ >> ${file}; sleep 300 & echo $! >> ${file}; wait`,
  ],
  [
    "a command that ignores SIGTERM",
    (file: string) => `trap '' TERM; echo $$ >> ${file}; sleep 300 & echo $! >> ${file}; wait`,
  ],
])("kill -9 of the worker ends %s", { timeout: 60_000 }, async (kind, script) => {
  const file = join(dir, `${kind.replace(/\W+/g, "-")}.pids`);
  pidFiles.push(file);
  const pipeline = `dog-${pidFiles.length}`;
  await stack
    .client()
    .deposit([{ pipeline, site: "local", user: "admin", command: ["sh", "-c", script(file)] }]);
  const worker = workerProcess(
    [pipeline, "--url", stack.url, "--sleep", "0.1"],
    { WORKFLOW_TOKEN: stack.token("cli", ["work:withdraw"]) },
    dir,
  );
  owned.push(worker);
  const pids = await eventually(async () => {
    const found = pidsIn(file);
    return found.length === 2 ? found : undefined;
  }, 30_000);
  expect(pids.filter(alive)).toEqual(pids);

  await worker.stop("SIGKILL");
  expect(worker.child.signalCode).toBe("SIGKILL");
  // SIGTERM at once; SIGKILL five seconds later for what ignored it.
  await eventually(async () => (pids.some(alive) ? undefined : true), 20_000);
  expect(pids.filter(alive)).toEqual([]);
});
