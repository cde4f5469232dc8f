/** Steps to add to a live run, or to replace, parsed and checked. */

import { z } from "zod";
import { FreeObjectSchema } from "../free.js";
import { PipelineConfigError, parseConfigText } from "./plan.js";
import { MAX_STEPS, StepSchema } from "./schema.js";

/**
 * POST /runs/:id/steps: steps to add to a live run, or to put in place of its steps of the same
 * name; as a list, or as YAML text of a list (or of a mapping holding `steps`).
 */
export const MergeStepsSchema = z.strictObject({
  steps: z.union(
    [
      z.string().max(1_000_000),
      z
        .array(FreeObjectSchema)
        .min(1, { error: "steps must hold at least one step" })
        .max(MAX_STEPS, { error: `at most ${MAX_STEPS} steps` }),
    ],
    { error: "steps must be a list of pipeline steps, or their YAML text" },
  ),
});
export type MergeStepsRequest = z.input<typeof MergeStepsSchema>;

/** A steps file's steps: a list, `steps: [..]`, or a whole config's `pipeline.steps`. */
export function stepsOf(raw: unknown): Record<string, unknown>[] {
  const parsed = typeof raw === "string" ? parseConfigText(raw, "steps") : raw;
  const found = Array.isArray(parsed)
    ? parsed
    : typeof parsed === "object" && parsed !== null
      ? ((parsed as { steps?: unknown }).steps ??
        (parsed as { pipeline?: { steps?: unknown } }).pipeline?.steps)
      : undefined;
  if (!Array.isArray(found) || found.length === 0) {
    throw new PipelineConfigError(
      "steps: give a list of steps (each with a name and a work), or a mapping with steps: [..]",
    );
  }
  return found.map((step, i) => {
    if (typeof step !== "object" || step === null || Array.isArray(step)) {
      throw new PipelineConfigError(`steps[${i}]: a step is a mapping with a name and a work`);
    }
    return step as Record<string, unknown>;
  });
}

export interface MergedConfig {
  config: Record<string, unknown>;
  /** Steps new to the run. */
  added: string[];
  /** Steps of the run given again with a different definition: they run again. */
  replaced: string[];
}

/**
 * A run's config with `steps` merged in: a step of a name the run has takes that step's place,
 * any other is added at the end. The result is for `planRun`, which refuses a cycle or an unknown
 * need naming the step.
 */
export function mergeSteps(
  config: Record<string, unknown>,
  steps: Record<string, unknown>[],
): MergedConfig {
  const pipeline = config.pipeline as { steps: Record<string, unknown>[] };
  const merged = [...pipeline.steps];
  const added: string[] = [];
  const replaced: string[] = [];
  const given = new Set<string>();
  steps.forEach((step, i) => {
    const name = step.name;
    if (typeof name !== "string") {
      throw new PipelineConfigError(`steps[${i}]: name: every step needs a name`);
    }
    if (given.has(name)) {
      throw new PipelineConfigError(`steps[${i}]: name: "${name}" is given twice`);
    }
    given.add(name);
    const at = merged.findIndex((s) => s.name === name);
    if (at < 0) {
      merged.push(step);
      added.push(name);
    } else if (!sameStep(merged[at] as Record<string, unknown>, step)) {
      merged[at] = step;
      replaced.push(name);
    }
  });
  return { config: { ...config, pipeline: { ...pipeline, steps: merged } }, added, replaced };
}

/** Compared as the config stores them (parsed), so that a step given again as it was is kept. */
function sameStep(stored: Record<string, unknown>, given: Record<string, unknown>): boolean {
  const parsed = StepSchema.safeParse(given);
  return parsed.success && canonical(stored) === canonical(parsed.data);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
