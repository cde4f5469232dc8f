import { MAX_CLAIM_COUNT } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { CLAIM_LINGER_MS, type ClaimState, planClaim, waitedTooLong } from "../src/claim-plan.js";

/** When a worker claims, and how many works, decided from what its slots are doing. */

const NOW = 1_000_000;
const state = (over: Partial<ClaimState> = {}): ClaimState => ({
  waiting: 0,
  waitingSince: undefined,
  executing: 0,
  ready: 0,
  left: Number.POSITIVE_INFINITY,
  connected: true,
  dry: false,
  averageMs: undefined,
  claimMs: 0,
  lastClaimAt: 0,
  stopping: false,
  now: NOW,
  ...over,
});

describe("planClaim", () => {
  it("claims at once for the waiting slots when none is busy", () => {
    expect(planClaim(state({ waiting: 3, waitingSince: NOW }))).toEqual({
      kind: "claim",
      count: 3,
      ahead: false,
    });
  });

  it("lingers while busy slots may join the claim, then claims for those that wait", () => {
    const busy = state({ waiting: 1, waitingSince: NOW - 5, executing: 3 });
    expect(planClaim(busy)).toEqual({ kind: "linger", ms: CLAIM_LINGER_MS - 5 });
    const later = { ...busy, now: NOW - 5 + CLAIM_LINGER_MS };
    expect(planClaim(later)).toEqual({ kind: "claim", count: 1, ahead: false });
  });

  it("never asks for more than one withdraw takes, or than the lives left", () => {
    expect(planClaim(state({ waiting: 500, waitingSince: NOW }))).toMatchObject({
      count: MAX_CLAIM_COUNT,
    });
    expect(planClaim(state({ waiting: 4, waitingSince: NOW, left: 2 }))).toMatchObject({
      count: 2,
    });
    expect(planClaim(state({ waiting: 4, waitingSince: NOW, left: 0 }))).toEqual({
      kind: "done",
    });
  });

  it("claims ahead for busy slots of short works, as many as finish during a claim, at most 8 each", () => {
    const short = state({ executing: 2, averageMs: 10, claimMs: 30 });
    expect(planClaim(short)).toEqual({ kind: "claim", count: 6, ahead: true });
    expect(planClaim({ ...short, claimMs: 1_000 })).toMatchObject({ count: 16 });
  });

  it("does not claim ahead for long works, after a claim came back short, or while stopping", () => {
    const short = state({ executing: 2, averageMs: 10, claimMs: 30 });
    for (const over of [
      { averageMs: 5_000 },
      { averageMs: undefined },
      { dry: true },
      { ready: 1 },
      { connected: false },
      { stopping: true },
    ]) {
      expect(planClaim({ ...short, ...over }), JSON.stringify(over)).toEqual({ kind: "idle" });
    }
  });
});

describe("waitedTooLong", () => {
  it("gives a work claimed ahead a third of its lease, and 5 s at most", () => {
    const leased = { start: 100, leaseUntil: 103 };
    expect(waitedTooLong(leased, NOW, NOW + 1_000)).toBe(false);
    expect(waitedTooLong(leased, NOW, NOW + 1_001)).toBe(true);
    const long = { start: 100, leaseUntil: 400 };
    expect(waitedTooLong(long, NOW, NOW + 5_000)).toBe(false);
    expect(waitedTooLong(long, NOW, NOW + 5_001)).toBe(true);
  });
});
