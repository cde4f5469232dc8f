/** `workflow pipeline run --dry-run`: the run as it would start, each work cached or to run. */

import {
  describeLimits,
  describeParams,
  growthSummary,
  isCron,
  type RunPlan,
  releaseTime,
  runLimits,
} from "@workflow/work";
import { type ConnectionFlags, clientFrom } from "./connection.js";

/** What the service would do with each work, by step and index: the success it reuses, or none. */
export type Marks = Map<string, string | undefined>;

/** The service's preview, or nothing (said on stderr) when it cannot be asked. */
export async function marksOf(
  flags: ConnectionFlags,
  config: Record<string, unknown>,
  params: Record<string, unknown>,
): Promise<Marks | undefined> {
  try {
    const { works } = await clientFrom(flags).previewRun(config, params);
    return new Map(works.map((w) => [`${w.step}[${w.index}]`, w.from]));
  } catch (error) {
    process.stderr.write(
      `workflow: could not ask the service which works it would take from the cache (${(error as Error).message}); the works are listed without\n`,
    );
    return undefined;
  }
}

const markOf = (marks: Marks | undefined, step: string, index: number) => {
  if (!marks) return "";
  const from = marks.get(`${step}[${index}]`);
  return from ? `  cached (from ${from})` : "  will run";
};

/** What a step made at run time says of the cache: its works are looked up as they are made. */
const growthCache = (step: RunPlan["steps"][number]) =>
  step.growth?.work.cache ? "  (each looked up in the cache when made)" : "";

/**
 * `--dry-run --json`: the run as it would start (its params, release time and triggers), every
 * limit it is held to, and each step with its works, each cached (the success it reuses) or
 * null; `cached` is left out when the service could not be asked.
 */
export function dryRunJson(plan: RunPlan, marks: Marks | undefined, at?: number) {
  return {
    name: plan.name,
    params: plan.params,
    ...(at === undefined ? {} : { at: releaseTime(at) }),
    ...(plan.config.on ? { on: plan.config.on } : {}),
    limits: runLimits(plan),
    steps: plan.steps.map((s) => ({
      ...s,
      ...(s.growth ? { grows: growthSummary(s.growth) } : {}),
      works: s.works.map((w) => ({
        index: w.index,
        matrix: w.matrix,
        work: w.work,
        ...(marks ? { cached: marks.get(`${s.name}[${w.index}]`) ?? null } : {}),
      })),
    })),
  };
}

/** d6tflow's preview: the DAG, then every work the run would create, cached or to run. */
export function printPlan(plan: RunPlan, marks?: Marks, at?: number): void {
  const limits = describeLimits(runLimits(plan)).map((line) => `${line}\n`);
  process.stdout.write(
    `pipeline ${plan.name}: ${plan.steps.length} steps, ${plan.steps.reduce((n, s) => n + s.works.length, 0)} works (dry run: nothing deposited)\n${limits.join("")}\n`,
  );
  const triggers = (plan.config.on ?? []).map((t) =>
    isCron(t) ? `cron "${t.cron}" (${t.timezone})` : "by hand",
  );
  if (triggers.length > 0) process.stdout.write(`runs: ${triggers.join(", ")}\n`);
  if (at !== undefined) process.stdout.write(`released at ${releaseTime(at)}\n`);
  const params = describeParams(plan.config.params, plan.params);
  if (params.length > 0) process.stdout.write(`params: ${params.join(", ")}\n\n`);
  for (const step of plan.steps) {
    const after = step.needs.length > 0 ? ` after ${step.needs.join(", ")}` : "";
    const cond = step.if === "success()" ? "" : ` if ${step.if}`;
    const parallel = step.maxParallel ? `, ${step.maxParallel} at a time` : "";
    const works = step.growth ? growthSummary(step.growth) : `${step.works.length} works`;
    process.stdout.write(`${step.name}${after}${cond}: ${works}${parallel}\n`);
    if (step.growth) {
      const { function: fn, command, parameters } = step.growth.work;
      const what = fn ?? (command ? command.join(" ") : "");
      process.stdout.write(
        `  [each] ${what} ${JSON.stringify(parameters ?? {})}${marks ? growthCache(step) : ""}\n`,
      );
    }
    for (const planned of step.works) {
      const { function: fn, command, parameters, pipeline, site, user, tags } = planned.work;
      const what = fn ?? (command ? command.join(" ") : "");
      const extra = tags?.length ? ` tags=${tags.join(",")}` : "";
      process.stdout.write(
        `  [${planned.index}] ${what} ${JSON.stringify(parameters ?? {})} (${pipeline}, ${site}, ${user}${extra})${markOf(marks, step.name, planned.index)}\n`,
      );
    }
  }
}
