/** The limits a planned run is held to, as its dry run reports them. */

import { spokenDuration } from "../durations.js";
import type { RunPlan } from "./plan.js";
import { MAX_RUN_WORKS } from "./schema.js";

/** A step's own limits: how many of its works at once, and for one made from results, how many. */
export interface StepLimits {
  step: string;
  /** The most of its works queued or running at once (its `max-parallel`). */
  maxParallel?: number;
  /**
   * For a step made at run time: the most works it may make, the run's cap less the works
   * planned now (steps made at run time share it; the first to grow takes what it needs).
   */
  fanOut?: { from: string[]; atMost: number };
}

/** Every limit a run is held to, as a dry run shows it (`--dry-run --json`'s `limits`). */
export interface RunLimits {
  /** Seconds after it starts at which it ends `timedout`; null without `timeout`. */
  timeout: number | null;
  /** The most of its works queued or running at once, all steps together; null without. */
  maxParallel: number | null;
  /** The most works one run holds, those made at run time included. */
  maxWorks: number;
  /** The works planned at submission, among maxWorks. */
  planned: number;
  /** Only the steps that have a limit of their own. */
  steps: StepLimits[];
}

export function runLimits(plan: RunPlan): RunLimits {
  const planned = plan.steps.reduce((n, s) => n + s.works.length, 0);
  const steps = plan.steps.flatMap((s): StepLimits[] => {
    if (s.maxParallel === undefined && !s.growth) return [];
    return [
      {
        step: s.name,
        ...(s.maxParallel === undefined ? {} : { maxParallel: s.maxParallel }),
        ...(s.growth
          ? { fanOut: { from: s.growth.sources, atMost: Math.max(0, MAX_RUN_WORKS - planned) } }
          : {}),
      },
    ];
  });
  return {
    timeout: plan.timeout ?? null,
    maxParallel: plan.maxParallel ?? null,
    maxWorks: MAX_RUN_WORKS,
    planned,
    steps,
  };
}

/**
 * The lines a dry run prints of a run's limits, none when it has none of its own: the run's,
 * then one per step with its own. The run's cap on works is said for a step made at run time:
 * only such a step can reach it unseen.
 */
export function describeLimits(limits: RunLimits): string[] {
  const run = [
    limits.timeout === null
      ? ""
      : `times out ${spokenDuration(limits.timeout)} after it starts (timeout)`,
    limits.maxParallel === null
      ? ""
      : `at most ${limits.maxParallel} works queued or running at once, all steps together (max-parallel)`,
  ].filter(Boolean);
  const lines = run.length > 0 ? [`run limits: ${run.join("; ")}`] : [];
  for (const s of limits.steps) {
    const own = [
      s.maxParallel === undefined
        ? ""
        : `at most ${s.maxParallel} of its works at once (max-parallel)`,
      s.fanOut
        ? `fans out${s.fanOut.from.length > 0 ? ` from ${s.fanOut.from.join(" and ")}` : ""} to at most ${s.fanOut.atMost} works (a run holds at most ${limits.maxWorks}; ${limits.planned} planned now)`
        : "",
    ].filter(Boolean);
    lines.push(`step limits: ${s.step}: ${own.join("; ")}`);
  }
  return lines;
}
