/**
 * Steps whose works are known only when their needs end: a matrix key (or `include`) that takes a
 * parent's results, `${{ needs.split.results.partitions }}`, and `matrix.from: <step>`, one work
 * per work of that step, each seeing only its own combination's results. What can be checked at
 * submission is checked here; ./grow.ts makes the works at run time.
 */
import type { Work } from "../schema.js";
import { type Combination, expandMatrix, matrixKeys } from "./matrix.js";
import type { PlannedStep, PlannedWork } from "./plan.js";
import { type Matrix, RESULTS_EXPRESSION, type Step } from "./schema.js";

/** A matrix key (or `include`) whose list is a parent's results. */
export interface ResultsSource {
  key: string;
  step: string;
  path: string[];
}

/** What a step that grows at run time keeps until then, stored with the run's step. */
export interface Growth {
  /** Its matrix as written: lists, results expressions, include, exclude, from. */
  matrix: Record<string, unknown>;
  /** Where its lists come from, as `split.partitions`, for dry runs, ps and the dashboard. */
  sources: string[];
  /** Its work, checked as a work: defaults, params and tags filled. */
  work: Work;
  /** Its templated fields as written, with their matrix and needs expressions. */
  template: Record<string, unknown>;
}

/** One combination of a step planned at submission, with the parents' works it comes from. */
export interface PlannedCombination {
  matrix: Combination;
  origins?: Record<string, number>;
}

/** The step and path an expression `${{ needs.<step>.results.<path> }}` reads, if it is one. */
export function resultsSource(value: unknown): { step: string; path: string[] } | undefined {
  if (typeof value !== "string") return undefined;
  const match = RESULTS_EXPRESSION.exec(value);
  if (!match) return undefined;
  return { step: match[1] as string, path: (match[2] ?? "").split(".").filter(Boolean) };
}

export function sourcesOf(matrix: Matrix | Record<string, unknown> | undefined): ResultsSource[] {
  if (!matrix) return [];
  return Object.entries(matrix).flatMap(([key, value]) => {
    const source = resultsSource(value);
    return source ? [{ key, ...source }] : [];
  });
}

export const sourceName = (source: { step: string; path: string[] }) =>
  [source.step, ...source.path].join(".");

/** What a dry run (and ps) says of a step that grows: "fans out from split.partitions at run time". */
export function growthSummary(growth: Pick<Growth, "sources" | "matrix">): string {
  const from = growth.matrix.from;
  const each = from === undefined ? "" : `once per work of ${from}`;
  if (growth.sources.length === 0) return `runs ${each}, made at run time`;
  return `fans out from ${growth.sources.join(" and ")}${each ? ` ${each}` : ""} at run time`;
}

/** A step's growth, from its one probe work planned with its matrix and needs left as written. */
export function growthOf(step: Step, probe: PlannedWork): Growth {
  const matrix = step.matrix ?? {};
  return {
    matrix,
    sources: sourcesOf(matrix).map((s) =>
      s.key === "include" ? `${sourceName(s)} (include)` : sourceName(s),
    ),
    work: probe.work,
    template: probe.template ?? {},
  };
}

/** A matrix's own combinations, without `from`: one empty combination when it has no lists. */
export function ownCombinations(matrix: Record<string, unknown>): Combination[] {
  const { from: _from, ...own } = matrix as Matrix;
  return matrixKeys(own).size === 0 ? [{}] : expandMatrix(own);
}

/**
 * A step's combinations at submission; `undefined` when they are known only at run time (its
 * matrix takes a parent's results, or it is `from` a step that does).
 */
export function combinationsOf(
  step: Step,
  planned: Map<string, PlannedStep>,
): PlannedCombination[] | undefined {
  const matrix = step.matrix;
  if (sourcesOf(matrix).length > 0) return undefined;
  if (!matrix?.from) return expandMatrix(matrix).map((combination) => ({ matrix: combination }));
  const parent = planned.get(matrix.from);
  if (!parent || parent.growth) return undefined;
  const own = ownCombinations(matrix);
  const from = matrix.from;
  return parent.works.flatMap((w: PlannedWork) =>
    own.map((combination) => ({
      matrix: { ...w.matrix, ...combination },
      origins: { ...w.origins, [from]: w.index },
    })),
  );
}

/**
 * The keys `${{ matrix.x }}` may name in a step: its own, its `from` step's (transitively), or
 * any when a list of mappings (`include`) comes from results.
 */
export function keysOf(step: Step, steps: Map<string, Step>): Set<string> | "any" {
  const keys = matrixKeys(step.matrix);
  if (resultsSource(step.matrix?.include)) return "any";
  const from = step.matrix?.from ? steps.get(step.matrix.from) : undefined;
  if (!from || from === step) return keys;
  const inherited = keysOf(from, steps);
  if (inherited === "any") return "any";
  for (const key of inherited) keys.add(key);
  return keys;
}

/** What is wrong with a step's results lists and `from`, at submission, if anything. */
export function growthProblem(step: Step, needs: string[]): string | undefined {
  for (const source of sourcesOf(step.matrix)) {
    if (!needs.includes(source.step)) {
      return `matrix.${source.key}: needs.${source.step}: "${step.name}" does not need a step "${source.step}"; add it to needs`;
    }
  }
  return undefined;
}
