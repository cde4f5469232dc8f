import { z } from "zod";
import { type DurationUnit, SECONDS_PER_DAY, UNIT_SECONDS } from "../durations.js";

/** The longest a run's `timeout` may be: a run is not meant to outlive a month. */
export const MAX_RUN_TIMEOUT_SECONDS = 30 * SECONDS_PER_DAY;

const DURATION = /^([1-9]\d{0,7})([smhd])$/;
const HELP = 'timeout must be a duration such as "90s", "30m", "2h" or "1d", or whole seconds';

/** Seconds of a run timeout as written in a config: `2h`, or a bare number of seconds. */
export function timeoutSeconds(value: string | number): number {
  if (typeof value === "number") return value;
  const match = DURATION.exec(value);
  if (!match) return Number.NaN;
  return Number(match[1]) * UNIT_SECONDS[match[2] as DurationUnit];
}

/**
 * A config's `timeout`, kept as written (the stored config is the one given): once it has passed
 * since the run started, the run ends `timedout`.
 */
export const RunTimeoutSchema = z
  .union(
    [z.int({ error: HELP }).min(1, { error: HELP }), z.string().regex(DURATION, { error: HELP })],
    {
      error: HELP,
    },
  )
  // Also run on a value the union refused: then it adds nothing.
  .refine((value) => !(timeoutSeconds(value) > MAX_RUN_TIMEOUT_SECONDS), {
    error: `timeout must be at most ${MAX_RUN_TIMEOUT_SECONDS / SECONDS_PER_DAY}d`,
  });

/** A config's top-level `max-parallel`: the most of the run's works queued or running at once. */
export const RunMaxParallelSchema = z
  .int({ error: "max-parallel must be a whole number" })
  .min(1, { error: "max-parallel must be at least 1" });
