import { type BucketsClient, BucketsError, type LogLine } from "@workflow/work";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { LogShipper } from "../src/logs/shipper.js";

/** The log shipper against a stand-in for the service whose answers the test gives. */

type Answer = (lines: LogLine[]) => Promise<void>;

function shipperWith(answer: Answer) {
  const sent: LogLine[][] = [];
  const client = {
    appendLogs: async (_held: unknown, lines: LogLine[]) => {
      sent.push(lines);
      await answer(lines);
      return true as const;
    },
  } as unknown as BucketsClient;
  const shipper = new LogShipper({
    client,
    held: { id: "w", attempt: 1 },
    logger: pino({ level: "silent" }),
  });
  return { shipper, sent };
}

const line = (n: number) => `${String(n).padStart(50, "0")}\n`;
/** Writes numbered lines, 1,000 a chunk, until `write` asks to wait or `most` are written. */
function writeUntilHeld(shipper: LogShipper, from: number, most: number) {
  for (let n = from; n < from + most; n += 1000) {
    const chunk = Array.from({ length: 1000 }, (_, i) => line(n + i)).join("");
    const wait = shipper.write("stdout", chunk);
    if (wait) return { next: n + 1000, wait };
  }
  return { next: from + most, wait: undefined };
}

const texts = (sent: LogLine[][]) => sent.flat().map((l) => l.text);

/** Closes the shipper while the service takes what it sends, one batch a turn, until it has closed. */
async function closeThroughGates(shipper: LogShipper, gates: (() => void)[]) {
  let closed = false;
  void shipper.close().then(() => {
    closed = true;
  });
  while (!closed) {
    gates.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("LogShipper", () => {
  it("a slow service: the writer is asked to wait, then let go, and nothing is dropped", async () => {
    const gates: (() => void)[] = [];
    const { shipper, sent } = shipperWith(() => new Promise((go) => gates.push(go)));
    const held = writeUntilHeld(shipper, 1, 200_000);
    expect(held.wait).toBeDefined();
    // One batch is on its way; the rest waits for it.
    expect(sent.length).toBe(1);
    let resumed = false;
    void held.wait?.then(() => {
      resumed = true;
    });
    // The service takes batches one by one; the writer goes on once enough went.
    while (!resumed) {
      await new Promise((resolve) => setImmediate(resolve));
      gates.shift()?.();
    }
    await closeThroughGates(shipper, gates);
    const all = texts(sent);
    expect(all.filter((t) => t.startsWith("[workflow:"))).toEqual([]);
    expect(all.map(Number)).toEqual(Array.from({ length: held.next - 1 }, (_, i) => i + 1));
  });

  it("a flood of short lines is not slowed to the service's rate: what the service would cut goes first, and is said", async () => {
    const gates: (() => void)[] = [];
    const { shipper, sent } = shipperWith(() => new Promise((go) => gates.push(go)));
    const waits = Array.from({ length: 300 }, () => shipper.write("stdout", "y\n".repeat(1000)));
    expect(waits.filter(Boolean)).toEqual([]);
    await closeThroughGates(shipper, gates);
    const markers = texts(sent).filter((t) => t.startsWith("[workflow:"));
    expect(markers[0]).toMatch(
      /^\[workflow: \d+ lines of output were dropped: more output came after them than the service keeps of an attempt/,
    );
    // The last 100,000 lines, all of them: what the service keeps of an attempt.
    expect(texts(sent).filter((t) => t === "y").length).toBeGreaterThanOrEqual(100_000);
  });

  it("an unreachable service: the writer never waits; the oldest lines go, and the marker says why", async () => {
    let reachable = false;
    const { shipper, sent } = shipperWith(async () => {
      if (!reachable) throw new Error("connect ECONNREFUSED");
    });
    // Past 64 KB a batch goes at once; it fails, and from then on the work is not held up.
    writeUntilHeld(shipper, 1, 2000);
    while (sent.length === 0) await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    const { wait } = writeUntilHeld(shipper, 2001, 149_000);
    expect(wait).toBeUndefined();
    // The service is back: the next batch says what was dropped meanwhile, and why.
    reachable = true;
    const marked = () => texts(sent).some((t) => t.startsWith("[workflow:"));
    for (let n = 151_001; !marked(); n++) {
      shipper.write("stdout", line(n));
      await new Promise((resolve) => setImmediate(resolve));
    }
    shipper.write("stdout", "last\n");
    await shipper.close();
    const markers = texts(sent).filter((t) => t.startsWith("[workflow:"));
    expect(markers.length).toBeGreaterThan(0);
    expect(markers[0]).toMatch(
      /^\[workflow: \d+ lines of output were dropped: the service could not be reached\]$/,
    );
    expect(texts(sent).at(-1)).toBe("last");
  });

  it("an attempt that is no longer ours: paused writers go on, and nothing more is sent", async () => {
    let gate: (() => void) | undefined;
    const { shipper, sent } = shipperWith(
      () =>
        new Promise((_, refuse) => {
          gate = () => refuse(new BucketsError(409, "attempt_stale", "attempt moved on"));
        }),
    );
    const { wait } = writeUntilHeld(shipper, 1, 200_000);
    expect(wait).toBeDefined();
    gate?.();
    await wait;
    const before = sent.length;
    expect(shipper.write("stdout", "more\n")).toBeUndefined();
    await shipper.close();
    expect(sent.length).toBe(before);
  });
});
