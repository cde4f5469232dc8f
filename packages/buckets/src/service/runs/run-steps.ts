/** A planned step as its run records it, one shape for a new run and a merge. */

import type { RunPlan } from "@workflow/work";
import type { RunStep } from "../../store/index.js";

/** Whether a planned step has a matrix: then its dependents read its results as a list. */
export const hasMatrix = (planned: Pick<RunPlan, "config">, name: string): boolean =>
  planned.config.pipeline.steps.find((c) => c.name === name)?.matrix !== undefined;

/**
 * A planned step as its run records it, by POST /runs and by a merge alike (a merged step that
 * grows, or runs `from` another, keeps saying so). `released` when its works may be queued now.
 */
export function runStepOf(
  planned: Pick<RunPlan, "config">,
  s: RunPlan["steps"][number],
  released: boolean,
): RunStep {
  return {
    name: s.name,
    needs: s.needs,
    if: s.if,
    ...(s.maxParallel ? { maxParallel: s.maxParallel } : {}),
    failFast: s.failFast,
    matrix: hasMatrix(planned, s.name),
    works: s.works.length,
    released,
    ...(s.growth ? { growth: s.growth } : {}),
    ...(s.from ? { from: s.from } : {}),
  };
}
