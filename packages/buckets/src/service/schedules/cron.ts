/**
 * Cron patterns read in their zone, and which ticks are due; croner never fires anything itself.
 */

import { MAX_MISSED_TICKS, type Missed } from "@workflow/work";
import { Cron } from "croner";
import { invalid } from "../../errors.js";

/** A cron pattern read in its zone: parsed once, never fired by croner (the ticker fires). */
export function parseCron(pattern: string, timezone: string): Cron {
  try {
    const cron = new Cron(pattern, { timezone, paused: true });
    // A pattern that can never match (30 February) says so here, not at 2 a.m.
    if (cron.nextRun() === null) throw new Error("it never matches a date");
    return cron;
  } catch (error) {
    throw invalid(
      `cron "${pattern}" in ${timezone}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

const toSeconds = (date: Date) => Math.round(date.getTime() / 1000);
const toDate = (seconds: number) => new Date(seconds * 1000);

/** The next `n` fire times strictly after `after` (unix seconds). */
export function fireTimes(cron: Cron, after: number, n: number): number[] {
  return cron.nextRuns(n, toDate(after)).map(toSeconds);
}

/** The first fire time strictly after `after`, or null when the pattern has none left. */
export function nextAfter(cron: Cron, after: number): number | null {
  const next = cron.nextRun(toDate(after));
  return next ? toSeconds(next) : null;
}

export interface Due {
  /** The ticks to fire now, oldest first. */
  fire: number[];
  /** The fire time after now. */
  next: number | null;
}

/**
 * Which ticks to fire, for a schedule due at `due` evaluated at `now`. Ticks within `grace`
 * seconds of now are on time and fire; older ones passed while no instance ran, and `missed`
 * decides: skip them, fire the latest, or fire each (the last 100).
 */
export function dueTicks(cron: Cron, due: number, now: number, grace: number, missed: Missed): Due {
  const cutoff = now - grace;
  const late: number[] = [];
  if (due < cutoff && missed !== "skip") {
    const count = missed === "latest" ? 1 : MAX_MISSED_TICKS;
    // previousRuns reads backwards from the cutoff, so a long downtime costs nothing to walk.
    const before = cron.previousRuns(count, toDate(cutoff)).map(toSeconds);
    late.push(...before.filter((t) => t >= due && t < cutoff));
  }
  const onTime: number[] = [];
  let t: number | null = due >= cutoff ? due : nextAfter(cron, cutoff - 1);
  while (t !== null && t <= now && onTime.length < MAX_MISSED_TICKS) {
    onTime.push(t);
    t = nextAfter(cron, t);
  }
  const fire = [...new Set([...late, ...onTime])].sort((a, b) => a - b);
  return { fire, next: nextAfter(cron, now) };
}
