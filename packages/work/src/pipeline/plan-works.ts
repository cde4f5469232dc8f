/** The works of one step of a run, planned: filled, checked as works, and their templates kept. */
import { formatIssues } from "../errors.js";
import { placeholderProblem } from "../placeholders.js";
import { type Work, WorkSchema } from "../schema.js";
import { label, PipelineConfigError } from "./config-error.js";
import { expressionsIn, fill, parseReference, readPath } from "./expressions.js";
import type { PlannedCombination } from "./fanout.js";
import type { PlannedWork } from "./plan.js";
import type { PipelineConfig, Step } from "./schema.js";
import { releaseTime } from "./triggers.js";

/** Fields where `${{ needs... }}` may appear: filled when the step is released. */
export const TEMPLATED_FIELDS = ["parameters", "command"] as const;

export function planWorks(
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
    // Filled again at release where needs (or a matrix made at run time) remain: kept as data.
    const filled = fill({ ...config.defaults, ...own }, resolve, { later: true }) as Record<
      string,
      unknown
    >;
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
    // Checked as a work with the parents' results stood in by a string; filled as the last fill
    // is, so what params wrote in is written back as the data it is.
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
