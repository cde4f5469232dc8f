import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StoredWork } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Owned, workerProcess } from "../support/processes.js";
import { type CuttingProxy, startCuttingProxy } from "../support/proxy.js";
import { eventually, useStack } from "../support/stack.js";

/** Log shipping never holds up a work: while the service refuses its logs, output waits (bounded). */

const { stack } = useStack(import.meta.filename);
let proxy: CuttingProxy;
let dir: string;
let worker: Owned | undefined;

beforeAll(async () => {
  proxy = await startCuttingProxy(stack.url);
  dir = mkdtempSync(join(tmpdir(), "logs-outage-"));
});

afterAll(async () => {
  await worker?.stop("SIGKILL");
  await proxy?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("logs while the service cannot take them", () => {
  it("the work goes on; the oldest output is dropped past the buffer's bound, with a marker; later lines arrive", {
    timeout: 90_000,
  }, async () => {
    const printed = join(dir, "printed");
    const stop = join(dir, "stop");
    // 6 MB of output, more than the worker holds while it cannot send, then a last line at the end.
    const script = `yes 0123456789012345678901234567890123456789012345678 | head -c 6000000; touch ${printed}; while [ ! -e ${stop} ]; do sleep 0.1; done; echo after`;
    const ids = (await stack.client().deposit(
      [
        {
          pipeline: "outage",
          site: "local",
          user: "alice",
          command: ["sh", "-c", script],
          timeout: 60,
        },
      ],
      { returnIds: true },
    )) as string[];
    const id = ids[0] as string;
    proxy.cut = (req) => req.method === "POST" && /\/logs\b/.test(req.url ?? "");
    worker = workerProcess(
      ["outage", "--url", proxy.url, "--lives", "1", "--sleep", "0.1"],
      { WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]) },
      dir,
    );
    await eventually(
      async () => (existsSync(printed) && proxy.refused.length >= 3 ? true : undefined),
      30_000,
    );
    proxy.cut = () => false;
    const marked = await eventually(async () => {
      const { lines } = await stack.client().logs(id);
      return lines.find((line) => line.text.includes("lines of output were dropped"))
        ? lines
        : undefined;
    }, 30_000);
    expect(marked[0]?.text).toMatch(
      /^\[workflow: \d+ lines of output were dropped: the service could not be reached\]$/,
    );
    writeFileSync(stop, "");
    const done = await eventually(async () => {
      const work = (await stack.client().view({ id }, { limit: 1 }))[0] as StoredWork;
      return work.status === "success" ? work : undefined;
    }, 30_000);
    expect(done.status).toBe("success");
    const { lines } = await stack.client().logs(id);
    expect(lines.at(-1)?.text).toBe("after");
    // Not all 6 MB: the worker holds a bounded buffer, and what it dropped is said.
    const kept = lines.filter((line) => line.text.startsWith("0123")).length;
    expect(kept).toBeGreaterThan(1_000);
    expect(kept).toBeLessThan(6_000_000 / 50);
    const dropped = lines
      .filter((line) => line.text.startsWith("[workflow: "))
      .reduce((n, line) => n + Number(/\d+/.exec(line.text)?.[0]), 0);
    expect(kept + dropped).toBeGreaterThanOrEqual(6_000_000 / 50 - 1);
  });
});
