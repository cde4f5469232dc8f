import { describe, expect, it } from "vitest";
import { BACKOFF_CAP_MS, BACKOFF_FIRST_MS, Backoff, pause } from "../src/backoff.js";

/** The worker's one backoff. */

describe("Backoff", () => {
  it("doubles with each failure in a row, up to its cap, and starts over after a success", () => {
    const backoff = new Backoff();
    const pauses = Array.from({ length: 8 }, () => backoff.failed());
    expect(pauses.slice(0, 3)).toEqual([
      BACKOFF_FIRST_MS,
      2 * BACKOFF_FIRST_MS,
      4 * BACKOFF_FIRST_MS,
    ]);
    expect(Math.max(...pauses)).toBe(BACKOFF_CAP_MS);
    expect(backoff.failures).toBe(8);
    backoff.succeeded();
    expect(backoff.failed()).toBe(BACKOFF_FIRST_MS);
  });

  it("a pause ends when its signal aborts", async () => {
    const stop = new AbortController();
    const waited = pause(3_600_000, stop.signal);
    stop.abort();
    await expect(waited).resolves.toBeUndefined();
  });
});
