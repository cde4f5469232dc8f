import { existsSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { eventually } from "../support/eventually.js";
import { useProxiedWorker } from "../support/proxied-worker.js";
import { depositAll, finishedWorks } from "../support/works.js";

/** Log shipping never holds up a work: while the service refuses its logs, output waits (bounded). */

const { stack, proxy, scratch, startWorker } = useProxiedWorker(import.meta.filename);

describe("logs while the service cannot take them", () => {
  it("the work goes on; the oldest output is dropped past the buffer's bound, with a marker; later lines arrive", {
    timeout: 90_000,
  }, async () => {
    const printed = scratch("printed");
    const stop = scratch("stop");
    // 6 MB of output, more than the worker holds while it cannot send, then a last line at the end.
    const script = `yes 0123456789012345678901234567890123456789012345678 | head -c 6000000; touch ${printed}; while [ ! -e ${stop} ]; do sleep 0.1; done; echo after`;
    const work = { command: ["sh", "-c", script], timeout: 60 };
    const [id] = (await depositAll(stack, "outage", [work], { user: "alice" })) as [string];
    proxy.cut = (req) => req.method === "POST" && /\/logs\b/.test(req.url ?? "");
    startWorker("outage");
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
    const [done] = await finishedWorks(stack, [id], 30_000);
    expect(done?.status).toBe("success");
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
