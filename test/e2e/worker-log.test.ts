import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredWork } from "@workflow/work";
import { expect, it } from "vitest";
import { own, WORKFLOW_CLI, workerProcess } from "../support/processes.js";
import { startCuttingProxy } from "../support/proxy.js";
import { eventually, useStack } from "../support/stack.js";

/**
 * The worker's own log: JSON lines for a log collector, pretty for a person at a terminal (a real
 * pseudo-terminal, through script(1)); the line of a failed work carries the error's text; after
 * an outage, the worker says when it reaches the service again.
 */

const { stack, owned } = useStack(import.meta.filename);

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

it("after an outage, the worker says it reached the service again", {
  timeout: 60_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), "worker-log-"));
  const proxy = await startCuttingProxy(stack.url);
  try {
    const gate = join(dir, "gate");
    const started = join(dir, "started");
    await deposit("log-outage", [
      "sh",
      "-c",
      `touch ${started}; while [ ! -e ${gate} ]; do sleep 0.05; done`,
    ]);
    const worker = workerProcess(["log-outage", "--url", proxy.url, "--sleep", "0.1"], {
      WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
      LOG_LEVEL: "info",
    });
    owned.push(worker);
    const messages = () =>
      worker
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
    await eventually(async () => (existsSync(started) ? true : undefined), 30_000);
    // The service goes away while the work runs: its report and the next claim fail.
    proxy.cut = () => true;
    writeFileSync(gate, "");
    await eventually(
      async () => (messages().includes("withdraw failed; retrying") ? true : undefined),
      30_000,
    );
    expect(messages()).not.toContain("reached the service again; claiming works");
    proxy.cut = () => false;
    const said = await eventually(async () => {
      const all = messages();
      return all.includes("reached the service again; claiming works") ? all : undefined;
    }, 30_000);
    expect(said.indexOf("connected to the service")).toBeLessThan(
      said.indexOf("withdraw failed; retrying"),
    );
    expect(said.lastIndexOf("withdraw failed; retrying")).toBeLessThan(
      said.indexOf("reached the service again; claiming works"),
    );
  } finally {
    await proxy.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
