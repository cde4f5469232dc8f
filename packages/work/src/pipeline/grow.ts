/**
 * The works of a step that grows (see ./fanout.ts), made when its needs end, from their results.
 * Pure: the service reads the parents, calls `growWorks`, and stores what it answers in one write.
 */
import { fill, type Reference, readPath } from "./expressions.js";
import { type Growth, ownCombinations, resultsSource } from "./fanout.js";
import { type Combination, expandMatrix, matrixSize } from "./matrix.js";
import { MAX_RUN_WORKS, type Matrix } from "./schema.js";

/** One work of a parent step, in its step's matrix order. */
export interface ParentWork {
  status?: string;
  results: unknown;
  combination?: Combination;
  origins?: Record<string, number>;
}

/** A parent step as its dependents read it: `works[i]` is its work of index i. */
export interface Parent {
  matrix: boolean;
  works: ParentWork[];
}

export interface GrownWork {
  index: number;
  combination: Combination;
  origins?: Record<string, number>;
  /**
   * The step's templated fields, filled: its combination and its needs' results in one pass, so a
   * result that reads like an expression is written as the data it is, never read as one.
   */
  template: Record<string, unknown>;
}

export type Grown = { works: GrownWork[] } | { problem: string };

/**
 * What `${{ needs.<step>.results.<path> }}` gives a work: for a work `from` that step (its
 * `origins` name the parent's work), that work's results alone; else the list of a matrix step's
 * results, in matrix order, or the one work's results.
 */
export function needsValue(
  parent: Parent | undefined,
  path: string[],
  origin: number | undefined,
): unknown {
  if (!parent) return null;
  const read = (work: ParentWork | undefined) => readPath(work?.results ?? null, path) ?? null;
  if (origin !== undefined) return read(parent.works[origin]);
  return parent.matrix ? parent.works.map(read) : read(parent.works[0]);
}

/** The resolver `fill` takes for a work's needs expressions. */
export function needsResolver(
  parents: Map<string, Parent>,
  origins: Record<string, number> | undefined,
): (ref: Reference) => unknown {
  return (ref) =>
    ref.kind === "needs"
      ? needsValue(parents.get(ref.step), ref.path, origins?.[ref.step])
      : undefined;
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return "missing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value} (${JSON.stringify(value).slice(0, 40)})`;
}

const isMapping = (value: unknown) =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** The most combinations built before giving up: ten times the largest run, as at submission. */
const MAX_BUILT = 10 * MAX_RUN_WORKS;

/**
 * The works a growing step makes from its parents' results, in order: per work of its `from`
 * step (or once), the cross product of its lists with `include` and `exclude`. A list that is not
 * one, or more works than `room`, is a problem naming the expression and the count.
 */
export function growWorks(growth: Growth, parents: Map<string, Parent>, room: number): Grown {
  const from = growth.matrix.from as string | undefined;
  const lineage: (ParentWork | undefined)[] = from ? (parents.get(from)?.works ?? []) : [undefined];
  const works: GrownWork[] = [];
  let count = 0;
  for (const [o, origin] of lineage.entries()) {
    const origins = from ? { ...origin?.origins, [from]: o } : undefined;
    const matrix: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(growth.matrix)) {
      const source = key === "from" ? undefined : resultsSource(value);
      if (!source) {
        if (key !== "from") matrix[key] = value;
        continue;
      }
      const list = needsValue(parents.get(source.step), source.path, origins?.[source.step]);
      const named = `needs.${[source.step, "results", ...source.path].join(".")}`;
      const at = `matrix.${key}: ${named}${from ? ` (of work ${o} of ${from})` : ""}`;
      if (!Array.isArray(list)) return { problem: `${at} is ${kindOf(list)}, not a list` };
      if (key === "include" && !list.every(isMapping)) {
        return { problem: `${at}: every entry of an include must be a mapping` };
      }
      matrix[key] = list;
    }
    // Two lists of 10,000 results would make 100 million: counted before they are built.
    if (count + matrixSize(matrix as Matrix) > MAX_BUILT) {
      count = MAX_BUILT + 1;
      break;
    }
    const combos = from ? ownCombinations(matrix) : expandMatrix(matrix as Matrix);
    count += combos.length;
    if (count > room) {
      if (count > MAX_BUILT) break;
      continue;
    }
    for (const combo of combos) {
      const combination = { ...origin?.combination, ...combo };
      const needs = needsResolver(parents, origins);
      const template = fill(growth.template, (ref) =>
        ref.kind === "matrix" ? (readPath(combination, ref.key.split(".")) ?? null) : needs(ref),
      ) as Record<string, unknown>;
      works.push({ index: works.length, combination, ...(origins ? { origins } : {}), template });
    }
  }
  if (count > room) {
    const said = count > MAX_BUILT ? `more than ${MAX_BUILT}` : `${count}`;
    return {
      problem: `it would create ${said} works, and the run may hold ${room} more (at most ${MAX_RUN_WORKS} in all); split the results into several runs`,
    };
  }
  return { works };
}
