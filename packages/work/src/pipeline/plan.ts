/**
 * Plans a config into a run: steps, needs, matrices and works, checked before anything is stored.
 */

import { parse as parseYaml } from "yaml";
import { formatIssues } from "../errors.js";
import type { Work } from "../schema.js";
import { bareCondition, conditionProblem } from "./conditions.js";
import { label, PipelineConfigError } from "./config-error.js";
import { combinationsOf, type Growth, growthOf, growthProblem, keysOf } from "./fanout.js";
import { timeoutSeconds } from "./limits.js";
import { type Combination, matrixSize } from "./matrix.js";
import { ParamError, resolveParams } from "./params.js";
import { planWorks } from "./plan-works.js";
import {
  type Condition,
  MAX_RUN_WORKS,
  type PipelineConfig,
  PipelineConfigSchema,
  type Step,
} from "./schema.js";
import { needsOf, topologicalOrder } from "./step-order.js";

export { PipelineConfigError } from "./config-error.js";
export { TEMPLATED_FIELDS } from "./plan-works.js";

export interface PlannedWork {
  step: string;
  /** Its place in the step's matrix order. */
  index: number;
  matrix: Combination;
  /** The work with matrix and params filled; needs expressions are still in it. */
  work: Work;
  /** The fields still holding needs expressions, as templates. */
  template?: Record<string, unknown>;
  /** For a step `from` another: the index of the work of each step it comes from. */
  origins?: Record<string, number>;
}

export interface PlannedStep {
  name: string;
  needs: string[];
  if: Condition;
  maxParallel?: number;
  failFast: boolean;
  works: PlannedWork[];
  /** Set when its works are made only when its needs end (see ./fanout.ts); `works` is empty. */
  growth?: Growth;
  /** `matrix.from`: the step whose works it runs once each. */
  from?: string;
}

export interface RunPlan {
  name: string;
  params: Record<string, unknown>;
  /** In an order where every step comes after its needs. */
  steps: PlannedStep[];
  config: PipelineConfig;
  /** Seconds the run may take before it ends `timedout`. */
  timeout?: number;
  /** The most of its works queued or running at once, across all steps. */
  maxParallel?: number;
}

/** Reads a config from YAML or JSON text. */
export function parseConfigText(text: string, source = "config"): unknown {
  try {
    return parseYaml(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new PipelineConfigError(`${source}: not YAML or JSON: ${(error as Error).message}`);
  }
}

/**
 * Checks a config and expands it into the works a run creates, before anything is stored: a
 * cycle, an unknown `needs`, or an expression naming something that does not exist is refused
 * with the step and the field.
 */
export function planRun(
  raw: unknown,
  given: Record<string, unknown> = {},
  /** When the run is released for (unix seconds): `${{ release.time }}`; by default now. */
  release = Date.now() / 1000,
): RunPlan {
  const parsed = PipelineConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new PipelineConfigError(
      `config: ${formatIssues(parsed.error.issues)}`,
      parsed.error.issues,
    );
  }
  const config = parsed.data;
  let params: Record<string, unknown>;
  try {
    params = resolveParams(config.params, given);
  } catch (error) {
    if (error instanceof ParamError) throw new PipelineConfigError(error.message);
    throw error;
  }
  const steps = config.pipeline.steps;
  const byName = new Map<string, number>();
  steps.forEach((step, i) => {
    if (byName.has(step.name)) {
      throw new PipelineConfigError(
        `${label(step, i)}: name: another step is named "${step.name}"`,
      );
    }
    byName.set(step.name, i);
  });
  const needs = steps.map((step, i) => needsOf(step, i, steps, byName));
  const order = topologicalOrder(steps, needs);
  let total = 0;
  const stepsByName = new Map(steps.map((s) => [s.name, s]));
  const plannedByName = new Map<string, PlannedStep>();
  const planned = order.map((i) => {
    const step = steps[i] as Step;
    const problem = growthProblem(step, needs[i] as string[]);
    if (problem) throw new PipelineConfigError(`${label(step, i)}: ${problem}`);
    // Excludes may remove many combinations, but never more than ten times the largest run.
    if (matrixSize(step.matrix) > 10 * MAX_RUN_WORKS) {
      throw new PipelineConfigError(
        `${label(step, i)}: matrix: its lists make ${matrixSize(step.matrix)} combinations, over ${10 * MAX_RUN_WORKS}; split it into several runs`,
      );
    }
    const badIf = step.if === undefined ? undefined : conditionProblem(step.if, needs[i] ?? []);
    if (badIf) throw new PipelineConfigError(`${label(step, i)}: if: ${badIf}`);
    const combinations = combinationsOf(step, plannedByName);
    const keys = keysOf(step, stepsByName);
    let works = planWorks(
      config,
      step,
      i,
      needs[i] as string[],
      params,
      combinations,
      keys,
      release,
    );
    let growth: Growth | undefined;
    if (combinations === undefined) {
      growth = growthOf(step, works[0] as PlannedWork);
      works = [];
    }
    total += works.length;
    if (total > MAX_RUN_WORKS) {
      throw new PipelineConfigError(
        `${label(step, i)}: matrix: the run would create more than ${MAX_RUN_WORKS} works; split it into several runs`,
      );
    }
    const maxParallel = step["max-parallel"] ?? step.matrix?.["max-parallel"];
    const plannedStep: PlannedStep = {
      name: step.name,
      needs: needs[i] as string[],
      // Stored bare, so that the run, dry runs and the graph show the expression itself.
      if: step.if === undefined ? "success()" : bareCondition(step.if),
      ...(maxParallel ? { maxParallel } : {}),
      failFast: step.matrix?.["fail-fast"] ?? false,
      works,
      ...(growth ? { growth } : {}),
      ...(step.matrix?.from ? { from: step.matrix.from } : {}),
    };
    plannedByName.set(step.name, plannedStep);
    return plannedStep;
  });
  return {
    name: config.name,
    params,
    steps: planned,
    config,
    ...(config.timeout === undefined ? {} : { timeout: timeoutSeconds(config.timeout) }),
    ...(config["max-parallel"] === undefined ? {} : { maxParallel: config["max-parallel"] }),
  };
}
