/** A run as clients see it: its steps' states and its deliveries. */

import { growthSummary, type RunSummary } from "@workflow/work";
import type { Delivery, RunDoc, StepCounts } from "../../store/index.js";

/** Where a delivery stands: its attempts, and when it was delivered or why it last failed. */
const stateOf = ({ attempts, delivered, error }: Delivery) => ({
  attempts,
  ...(delivered ? { delivered } : {}),
  ...(error ? { error } : {}),
});

/**
 * A step's state. A run cancelled or timed out ends with the steps that had not ended yet: they
 * show how the run ended, not the running or waiting they were left in.
 */
function stepState(
  run: RunDoc,
  step: RunDoc["steps"][number],
  counts: StepCounts | undefined,
): string {
  if (step.outcome) return step.outcome;
  if (run.status === "cancelled" || run.status === "timedout") return run.status;
  // A step `from` another runs its lines as their own parent works succeed, before it is released.
  const started = (counts?.byStatus.queued ?? 0) + (counts?.byStatus.running ?? 0) > 0;
  return step.released || started ? "running" : "waiting";
}

/** A run as the API (and its callback) shows it. */
export function summaryOf(run: RunDoc, counts?: Map<string, StepCounts>): RunSummary {
  return {
    id: run._id.toHexString(),
    name: run.name,
    user: run.user,
    pipelines: run.pipelines,
    status: run.status,
    created: run.created,
    ...(run.finished === undefined ? {} : { finished: run.finished }),
    ...(run.paused === undefined ? {} : { paused: run.paused }),
    ...(run.deadline === undefined ? {} : { deadline: run.deadline }),
    ...(run.maxParallel === undefined ? {} : { maxParallel: run.maxParallel }),
    params: run.params,
    steps: run.steps.map((s) => ({
      name: s.name,
      needs: s.needs,
      if: s.if,
      works: s.works,
      ...(s.maxParallel ? { maxParallel: s.maxParallel } : {}),
      // Its works are counted once made; until then, what they will be made from.
      ...(s.growth ? { grows: growthSummary(s.growth), grown: Boolean(s.grown) } : {}),
      state: stepState(run, s, counts?.get(s.name)),
      ...(counts ? { counts: counts.get(s.name)?.byStatus ?? {} } : {}),
      // Successes taken from the cache (counted in counts.success too).
      ...(counts ? { cached: counts.get(s.name)?.cached ?? 0 } : {}),
    })),
    ...(run.events ? { events: run.events } : {}),
    ...(run.callback ? { callback: { url: run.callback.url, ...stateOf(run.callback) } } : {}),
    ...(run.slack ? { slack: stateOf(run.slack) } : {}),
  };
}
