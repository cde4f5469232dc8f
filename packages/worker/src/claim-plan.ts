/**
 * When a worker claims, and how many works: a pure decision over what its slots are doing, so the
 * loop in claims.ts only carries it out (and the decision is tested on its own).
 */
import { MAX_CLAIM_COUNT, type StoredWork } from "@workflow/work";
import { leaseSeconds } from "./ownership.js";

/**
 * How long a claim waits for more slots while works are still running here, counted from when
 * the first slot began to wait or the last claim came back, whichever is later. The slots of
 * short works free up one after another: claiming at once for the first would send a request for
 * one work while the others wait for its answer, then one for the rest, and so on in turn.
 */
export const CLAIM_LINGER_MS = 20;

/**
 * Works are claimed ahead only while those run here take less than this on average. A slot of
 * short works would otherwise spend most of its time waiting for its next claim; a long work
 * gains nothing from it, and the work claimed ahead would wait, held from other workers.
 */
const AHEAD_BELOW_MS = 1_000;

/** At most this many works per busy slot are claimed ahead. */
const AHEAD_PER_SLOT = 8;

/**
 * A work claimed ahead that no slot took within this long (or a third of its lease, if shorter)
 * goes back to the queue: its first heartbeat must still come before its lease lapses.
 */
const AHEAD_MAX_WAIT_MS = 5_000;

/** What the worker's slots and claims are doing, as the plan sees it. */
export interface ClaimState {
  /** Slots waiting for a work. */
  waiting: number;
  /** When the first of them began to wait (Date.now()). */
  waitingSince: number | undefined;
  /** Slots running a work: they may join the next claim soon. */
  executing: number;
  /** Works claimed ahead that no slot took yet. */
  ready: number;
  /** Works still to claim in all (Infinity without an end). */
  left: number;
  /** Whether the service has answered a claim yet. */
  connected: boolean;
  /** The last claim came back with fewer works than it asked for. */
  dry: boolean;
  /** How long works here take, on a moving average; undefined before the first one ends. */
  averageMs: number | undefined;
  /** How long a claim takes to come back, on a moving average. */
  claimMs: number;
  /** When the last claim came back. */
  lastClaimAt: number;
  stopping: boolean;
  now: number;
}

export type ClaimPlan =
  /** Nothing to claim now. */
  | { kind: "idle" }
  /** No works are left to claim: the waiting slots get none. */
  | { kind: "done" }
  /** Wait this long for more slots to join, then plan again. */
  | { kind: "linger"; ms: number }
  /** Claim `count` works; `ahead` when no slot waits for them yet. */
  | { kind: "claim"; count: number; ahead: boolean };

/** Whether works should be claimed before a slot asks: short works run, and none waits claimed. */
function wantsAhead(s: ClaimState): boolean {
  return (
    s.connected &&
    !s.dry &&
    s.ready === 0 &&
    s.executing > 0 &&
    s.averageMs !== undefined &&
    s.averageMs < AHEAD_BELOW_MS &&
    !s.stopping
  );
}

/**
 * As many works as the busy slots will finish while the claim is on its way, and at least one
 * each: the slots then find their next works waiting when they free up.
 */
function aheadCount(s: ClaimState): number {
  const perSlot = Math.min(AHEAD_PER_SLOT, Math.max(1, s.claimMs / (s.averageMs ?? s.claimMs)));
  return Math.ceil(s.executing * perSlot);
}

export function planClaim(s: ClaimState): ClaimPlan {
  const ahead = s.waiting === 0;
  if (ahead && !wantsAhead(s)) return { kind: "idle" };
  const count = Math.min(ahead ? aheadCount(s) : s.waiting, MAX_CLAIM_COUNT, s.left);
  if (count <= 0) return { kind: "done" };
  const wait = Math.max(s.waitingSince ?? 0, s.lastClaimAt) + CLAIM_LINGER_MS - s.now;
  // Busy slots may free up within the linger and join this claim, up to what one claim can take.
  const more = s.executing > 0 && count < Math.min(MAX_CLAIM_COUNT, s.left);
  if (!ahead && more && wait > 0 && !s.stopping) return { kind: "linger", ms: wait };
  return { kind: "claim", count, ahead };
}

/** Whether a work claimed ahead at `claimedAt` waited too long for a slot to still be run. */
export function waitedTooLong(
  work: Pick<StoredWork, "leaseUntil" | "start">,
  claimedAt: number,
  now: number,
): boolean {
  const lease = leaseSeconds(work);
  const most = lease > 0 ? Math.min(AHEAD_MAX_WAIT_MS, (lease * 1000) / 3) : AHEAD_MAX_WAIT_MS;
  return now - claimedAt > most;
}
