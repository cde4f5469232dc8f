import { type BucketsClient, BucketsError, type StoredWork } from "@workflow/work";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Lease } from "../src/lease.js";

/** An attempt's lease, against a stand-in for the service, on a fake clock. */

const work = { id: "w", attempt: 1, start: 1_000, leaseUntil: 1_003 } as StoredWork;

function leaseWith(heartbeat: () => Promise<{ cancel: boolean }>) {
  const calls = { beats: 0, stops: 0, refused: 0 };
  const client = {
    heartbeat: () => {
      calls.beats++;
      return heartbeat();
    },
  } as unknown as BucketsClient;
  const lease = new Lease(work, {
    client,
    logger: pino({ level: "silent" }),
    stop: () => calls.stops++,
    onRefused: () => calls.refused++,
  });
  return { lease, calls };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("Lease", () => {
  it("beats every third of the lease while the service renews it", async () => {
    const { lease, calls } = leaseWith(async () => ({ cancel: false }));
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.beats).toBe(10);
    expect(lease.lost).toBe(false);
    expect(calls.stops).toBe(0);
    lease.release();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.beats).toBe(10);
  });

  it("a cancel from the service stops the work, which stays ours to report", async () => {
    const { lease, calls } = leaseWith(async () => ({ cancel: true }));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.stops).toBe(1);
    expect(lease.lost).toBe(false);
    lease.release();
  });

  it("a 409 or 404 means the attempt is no longer ours: the work stops and is not reported", async () => {
    for (const status of [409, 404]) {
      const { lease, calls } = leaseWith(async () => {
        throw new BucketsError(status, "gone", "not yours");
      });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(lease.lost).toBe(true);
      expect(calls.stops).toBe(1);
      lease.release();
    }
  });

  it("a refused token is told to the worker", async () => {
    const { lease, calls } = leaseWith(async () => {
      throw new BucketsError(401, "unauthorized", "expired");
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.refused).toBe(1);
    expect(lease.lost).toBe(false);
    lease.release();
  });

  it("a lease that lapses unrenewed (the service unreachable) fences the work off", async () => {
    const { lease, calls } = leaseWith(() => Promise.reject(new Error("ECONNREFUSED")));
    await vi.advanceTimersByTimeAsync(2_999);
    expect(lease.lost).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(lease.lost).toBe(true);
    expect(calls.stops).toBe(1);
    lease.release();
  });
});
