import type { StoredWork } from "@workflow/work";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { type Owned, own, WORKFLOW_CLI, workerProcess } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";

/**
 * The worker's own log: JSON lines for a log collector, pretty for a person at a terminal (a real
 * pseudo-terminal, through script(1)); the line of a failed work carries the error's text.
 */

let stack: Stack;
const owned: Owned[] = [];

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});
afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
});
afterAll(async () => {
  await stack?.close();
});

const deposit = async (pipeline: string, command: string[]) =>
  (
    (await stack
      .client()
      .deposit([{ pipeline, site: "local", user: "admin", command, retries: 0 }], {
        returnIds: true,
      })) as string[]
  )[0] as string;

it("JSON lines when no terminal watches; a failure's line carries the error's text", {
  timeout: 30_000,
}, async () => {
  const id = await deposit("log-json", ["sh", "-c", "echo 'the fit diverged' >&2; exit 3"]);
  const worker = workerProcess(["log-json", "--url", stack.url, "--lives", "1", "--sleep", "0.1"], {
    WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
    LOG_LEVEL: "info",
  });
  owned.push(worker);
  expect(await worker.exited).toBe(0);
  const lines = worker
    .output()
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  expect(lines.map((line) => line.msg)).toContain("connected to the service");
  const finished = lines.find((line) => line.msg === "finished");
  const [work] = (await stack.client().view({ id }, { limit: 1 })) as StoredWork[];
  expect(finished).toMatchObject({ status: "failure", work: id });
  expect(String(finished?.error)).toBe(String(work?.results?.error));
  expect(String(finished?.error)).toMatch(/3/);
});

it("pretty lines at a terminal", { timeout: 30_000 }, async () => {
  await deposit("log-tty", ["true"]);
  const command = [process.execPath, WORKFLOW_CLI, "run", "log-tty"]
    .concat(["--url", stack.url, "--lives", "1", "--sleep", "0.1"])
    .join(" ");
  const worker = own("script", ["-qec", command, "/dev/null"], {
    WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
    LOG_LEVEL: "info",
    TERM: "xterm",
  });
  owned.push(worker);
  expect(await worker.exited).toBe(0);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: colours are what a terminal gets
  const text = worker.output().replace(/\u001b\[[0-9;]*m/g, "");
  expect(text).toMatch(/INFO.*connected to the service/);
  expect(text).toMatch(/INFO.*finished/);
  expect(text).not.toMatch(/^\{"level"/m);
});
