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

  it("a stale attempt, a work gone, or another's claim: the work stops and is not reported", async () => {
    // claim_lost is a 403, as a refused scope is: the code, not the status, says which.
    for (const [status, code] of [
      [409, "attempt_stale"],
      [404, "not_found"],
      [403, "claim_lost"],
    ] as const) {
      const { lease, calls } = leaseWith(async () => {
        throw new BucketsError(status, code, "not yours");
      });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(lease.lost, code).toBe(true);
      expect(calls.stops, code).toBe(1);
      expect(calls.refused, code).toBe(0);
      lease.release();
    }
  });

  it("a refused token or scope is told to the worker", async () => {
    for (const [status, code] of [
      [401, "token_expired"],
      [401, "token_invalid"],
      [403, "scope_missing"],
      [403, "pipeline_refused"],
    ] as const) {
      const { lease, calls } = leaseWith(async () => {
        throw new BucketsError(status, code, "refused");
      });
      await vi.advanceTimersByTimeAsync(1_000);
      expect(calls.refused, code).toBe(1);
      expect(lease.lost, code).toBe(false);
      lease.release();
    }
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
