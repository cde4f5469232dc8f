/**
 * Plans a config into a run: steps, needs, matrices and works, checked before anything is stored.
 */

import { parse as parseYaml } from "yaml";
import { formatIssues, WorkflowError } from "../errors.js";
import { placeholderProblem } from "../placeholders.js";
import { type Work, WorkSchema } from "../schema.js";
import { conditionProblem } from "./conditions.js";
import { expressionsIn, fill, parseReference, readPath } from "./expressions.js";
import {
  combinationsOf,
  type Growth,
  growthOf,
  growthProblem,
  keysOf,
  type PlannedCombination,
} from "./fanout.js";
import { timeoutSeconds } from "./limits.js";
import { type Combination, matrixSize } from "./matrix.js";
import { ParamError, resolveParams } from "./params.js";
import {
  type Condition,
  MAX_RUN_WORKS,
  type PipelineConfig,
  PipelineConfigSchema,
  type Step,
} from "./schema.js";
import { releaseTime } from "./triggers.js";

/** A config the service refuses; the message names the step and the field. */
export class PipelineConfigError extends WorkflowError {
  constructor(message: string, details?: unknown) {
    super("invalid", message, { details });
  }
}

/** Fields where `${{ needs... }}` may appear: filled when the step is released. */
export const TEMPLATED_FIELDS = ["parameters", "command"] as const;

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

const label = (step: Step, index: number) => `step "${step.name}" (pipeline.steps[${index}])`;

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
      if: step.if ?? "success()",
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

/** A step's needs: its own `needs`, and every step of the stage before its own. */
function needsOf(step: Step, i: number, steps: Step[], byName: Map<string, number>): string[] {
  // A step `from` another needs it.
  const from = step.matrix?.from === undefined ? [] : [step.matrix.from];
  for (const name of from) {
    if (!byName.has(name) || name === step.name) {
      throw new PipelineConfigError(
        `${label(step, i)}: matrix.from: ${name === step.name ? "a step cannot run per work of itself" : `no step is named "${name}"`}`,
      );
    }
  }
  const own = [...(step.needs === undefined ? [] : [step.needs].flat()), ...from];
  for (const name of own) {
    if (!byName.has(name)) {
      throw new PipelineConfigError(`${label(step, i)}: needs: no step is named "${name}"`);
    }
    if (name === step.name) {
      throw new PipelineConfigError(`${label(step, i)}: needs: a step cannot need itself`);
    }
  }
  if (step.stage === undefined) return [...new Set(own)];
  const earlier = steps
    .map((s) => s.stage)
    .filter((s): s is number => s !== undefined && s < (step.stage as number));
  if (earlier.length === 0) return [...new Set(own)];
  const previous = Math.max(...earlier);
  const staged = steps.filter((s) => s.stage === previous).map((s) => s.name);
  return [...new Set([...own, ...staged])];
}

/** Kahn's order; what is left over is a cycle, named in the error. */
function topologicalOrder(steps: Step[], needs: string[][]): number[] {
  const index = new Map(steps.map((s, i) => [s.name, i]));
  const waiting = needs.map((n) => n.length);
  const dependents = steps.map(() => [] as number[]);
  needs.forEach((list, i) => {
    for (const name of list) dependents[index.get(name) as number]?.push(i);
  });
  const ready = waiting.flatMap((n, i) => (n === 0 ? [i] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    const i = ready.shift() as number;
    order.push(i);
    for (const d of dependents[i] ?? []) {
      waiting[d] = (waiting[d] as number) - 1;
      if (waiting[d] === 0) ready.push(d);
    }
  }
  if (order.length < steps.length) {
    const cycle = steps.filter((_, i) => !order.includes(i)).map((s) => `"${s.name}"`);
    const first = steps.findIndex((_, i) => !order.includes(i));
    throw new PipelineConfigError(
      `${label(steps[first] as Step, first)}: needs: a cycle among steps ${cycle.join(", ")}; a step cannot wait for itself`,
    );
  }
  return order;
}

function planWorks(
  config: PipelineConfig,
  step: Step,
  i: number,
  needs: string[],
  params: Record<string, unknown>,
  /** Its combinations; `undefined` when known only at run time: then one work, as a template. */
  combinations: PlannedCombination[] | undefined,
  keys: Set<string> | "any",
  release: number,
): PlannedWork[] {
  const where = label(step, i);
  const grows = combinations === undefined;
  const own = { ...keyFields(config, step), ...step.work };
  for (const { where: field, text } of expressionsIn(own)) {
    const ref = parseReference(text);
    const at = `${where}: work.${field}`;
    if (typeof ref === "string") throw new PipelineConfigError(`${at}: ${ref}`);
    if (ref.kind === "matrix" && keys !== "any" && !keys.has(ref.key.split(".")[0] as string)) {
      throw new PipelineConfigError(
        `${at}: matrix.${ref.key}: the step's matrix has no key "${ref.key.split(".")[0]}"`,
      );
    }
    const top = field.split(/[.[]/)[0] as string;
    if (grows && ref.kind === "matrix" && !(TEMPLATED_FIELDS as readonly string[]).includes(top)) {
      throw new PipelineConfigError(
        `${at}: matrix.${ref.key}: a matrix made at run time can fill only ${TEMPLATED_FIELDS.join(" and ")}`,
      );
    }
    if (ref.kind === "params" && readPath(params, ref.key.split(".")) === undefined) {
      throw new PipelineConfigError(
        `${at}: params.${ref.key}: no such param; give it a default in the config's params or pass it when the run starts`,
      );
    }
    if (ref.kind === "needs") {
      if (!(TEMPLATED_FIELDS as readonly string[]).includes(top)) {
        throw new PipelineConfigError(
          `${at}: needs.${ref.step}: a parent's results can fill only ${TEMPLATED_FIELDS.join(" and ")}`,
        );
      }
      if (!needs.includes(ref.step)) {
        throw new PipelineConfigError(
          `${at}: needs.${ref.step}: "${step.name}" does not need a step "${ref.step}"; add it to needs`,
        );
      }
    }
  }
  const given: PlannedCombination[] = combinations ?? [{ matrix: {} }];
  const combos = given.map((c) => c.matrix);
  if (combos.length === 0) {
    throw new PipelineConfigError(
      `${where}: matrix: it gives no works (every combination excluded)`,
    );
  }
  const tags = step.runs_on === undefined ? [] : [step.runs_on].flat();
  return combos.map((matrix, index) => {
    const resolve = (ref: ReturnType<typeof parseReference>) => {
      if (typeof ref === "string" || ref.kind === "needs") return undefined;
      if (ref.kind === "release") return releaseTime(release);
      if (grows && ref.kind === "matrix") return undefined;
      const source = ref.kind === "matrix" ? matrix : params;
      const value = readPath(source, ref.key.split("."));
      // A matrix key another combination has (added by include) but this one lacks.
      return value === undefined ? null : value;
    };
    const filled = fill({ ...config.defaults, ...own }, resolve) as Record<string, unknown>;
    if (typeof filled.version === "number") filled.version = String(filled.version);
    filled.pipeline ??= config.name;
    if (tags.length > 0) {
      filled.tags = [...new Set([...((filled.tags as string[] | undefined) ?? []), ...tags])];
    }
    const template: Record<string, unknown> = {};
    for (const field of TEMPLATED_FIELDS) {
      if (filled[field] !== undefined && expressionsIn(filled[field]).length > 0) {
        template[field] = filled[field];
      }
    }
    // Checked as a work with the parents' results stood in by a string.
    const probe = fill(filled, (ref) =>
      typeof ref !== "string" && (ref.kind === "needs" || ref.kind === "matrix") ? "?" : undefined,
    );
    const work = WorkSchema.safeParse(probe);
    if (!work.success) {
      throw new PipelineConfigError(
        `${where}: work${combos.length > 1 ? ` (matrix ${JSON.stringify(matrix)})` : ""}: ${formatIssues(work.error.issues)}`,
        work.error.issues,
      );
    }
    const problem = work.data.command && placeholderProblem(work.data.command);
    if (problem)
      throw new PipelineConfigError(`${where}: work.${problem.message}`, [
        { path: ["command", problem.item], message: problem.message },
      ]);
    const slack = work.data.notify.slack;
    if (slack.channel_id || slack.member_ids?.length) {
      throw new PipelineConfigError(
        `${where}: work.notify.slack: a run posts one Slack message, when it ends; set notify.slack at the top of the config instead`,
      );
    }
    const data = { ...work.data, ...(filled as Partial<Work>) } as Work;
    // Defaults of the schema, with the templated fields kept as written.
    const planned: PlannedWork = {
      step: step.name,
      index,
      matrix,
      work: { ...work.data, ...pick(data, Object.keys(template)) },
    };
    if (Object.keys(template).length > 0) planned.template = template;
    const origins = given[index]?.origins;
    if (origins) planned.origins = origins;
    return planned;
  });
}

/** The step's (or else the config's) `cache`, and the step's `version`, as work fields; the work's own win. */
function keyFields(config: PipelineConfig, step: Step): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const cache = step.cache !== undefined ? step.cache : config.cache;
  // false (step) over true (config): a work's `cache: false` is no cache.
  if (step.cache !== undefined || config.cache !== undefined) fields.cache = cache ?? false;
  // The config's own `version` is its format's: a version for every work goes in defaults.
  if (step.version !== undefined) fields.version = String(step.version);
  return fields;
}

function pick(work: Work, keys: string[]): Partial<Work> {
  return Object.fromEntries(keys.map((k) => [k, work[k as keyof Work]]));
}
