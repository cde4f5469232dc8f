import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { useProxiedWorker } from "../support/proxied-worker.js";
import { depositAll, finishedWorks } from "../support/works.js";

/**
 * A work printing 20 MB against a service that is reachable but slow to take logs: the worker
 * ships at the rate the service takes (the work waits on its pipe) and drops nothing; only the
 * service's own bound on an attempt's logs cuts the oldest output (issue #27, item 3).
 */

const LINES = 400_000;
const { stack, proxy, scratch, startWorker } = useProxiedWorker(import.meta.filename);

/** Runs one work with a fresh worker through the slow proxy; answers it ended and its logs. */
async function runSlowly(work: Record<string, unknown>) {
  const [id] = await depositAll(stack, "slow-logs", [work], { user: "alice" });
  startWorker("slow-logs");
  const [done] = await finishedWorks(stack, [id as string], 150_000);
  return { done, logs: await stack.client().logs(id as string) };
}

/** The numbered lines among `lines`, and the places where one does not follow the one before. */
function numbered(lines: { text: string }[]) {
  const numbers = lines.filter((line) => /^\d{50}$/.test(line.text)).map((l) => Number(l.text));
  const gaps = numbers.filter((n, i) => i > 0 && n !== (numbers[i - 1] as number) + 1);
  return { numbers, gaps };
}

describe("logs while the service is slow but reachable", () => {
  it("20 MB of output: no line is dropped by the worker, the last ones arrive in order", {
    timeout: 180_000,
  }, async () => {
    // 400,000 numbered lines of 50 characters (20 MB), then a last line.
    const script = `seq -f '%050g' 1 ${LINES}; echo after`;
    let appends = 0;
    proxy.slow = (req) => {
      if (req.method !== "POST" || !/\/logs\b/.test(req.url ?? "")) return 0;
      appends++;
      return 150;
    };
    const { done, logs } = await runSlowly({ command: ["sh", "-c", script] });
    expect(done?.status).toBe("success");
    expect(appends).toBeGreaterThan(10);
    const { lines, cut } = logs;
    expect(lines.filter((line) => line.text.startsWith("[workflow: "))).toEqual([]);
    expect(lines.at(-1)?.text).toBe("after");
    const { numbers, gaps } = numbered(lines);
    // The service keeps an attempt's last 10 MB: the oldest were cut there, and said to be.
    expect(cut).toBeGreaterThan(0);
    expect(numbers.length).toBeGreaterThan(50_000);
    expect(numbers.at(-1)).toBe(LINES);
    expect(gaps).toEqual([]);
  });

  it("4 MB printed by a Python function, more than the worker holds: all of it arrives, in order", {
    timeout: 180_000,
  }, async () => {
    writeFileSync(
      scratch("flood.py"),
      "def flood(n):\n    for i in range(n):\n        print(f'{i + 1:050d}')\n    return {'printed': n}\n",
    );
    proxy.slow = (req) => (req.method === "POST" && /\/logs\b/.test(req.url ?? "") ? 150 : 0);
    const { done, logs } = await runSlowly({ function: "flood.flood", parameters: { n: 80_000 } });
    expect(done).toMatchObject({ status: "success", results: { printed: 80_000 } });
    expect(logs.lines.filter((line) => line.text.startsWith("[workflow: "))).toEqual([]);
    const { numbers, gaps } = numbered(logs.lines);
    expect(logs.cut).toBe(0);
    expect(numbers.length).toBe(80_000);
    expect(gaps).toEqual([]);
  });
});
