/** A step's matrix expanded into its combinations, as GitHub Actions does. */

import type { Matrix } from "./schema.js";

export type Combination = Record<string, unknown>;

const OPTIONS = new Set(["include", "exclude", "max-parallel", "fail-fast", "from"]);

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const matches = (combo: Combination, pattern: Combination) =>
  Object.entries(pattern).every(([key, value]) => same(combo[key], value));

/**
 * The works of a matrix, in matrix order: the cross product of its lists (the first key varies
 * slowest), less `exclude`, then `include` as GitHub Actions applies it: an entry extends every
 * combination it matches on the original keys without overwriting them, else it is added at the end.
 */
/**
 * How many combinations the matrix's lists make before `exclude` and `include`: checked before
 * expanding, so that a hostile matrix (three lists of 1,000) is refused without building it.
 */
export function matrixSize(matrix: Matrix | undefined): number {
  if (!matrix) return 1;
  return Object.entries(matrix)
    .filter(([key]) => !OPTIONS.has(key))
    .reduce((size, [, values]) => size * (Array.isArray(values) ? values.length : 1), 1);
}

export function expandMatrix(matrix: Matrix | undefined): Combination[] {
  if (!matrix) return [{}];
  const lists = Object.entries(matrix).filter(([key]) => !OPTIONS.has(key)) as [
    string,
    unknown[],
  ][];
  const include = Array.isArray(matrix.include) ? matrix.include : [];
  let combos: Combination[] = [{}];
  for (const [key, values] of lists) {
    combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
  }
  if (lists.length === 0) combos = [];
  const excluded = matrix.exclude ?? [];
  combos = combos.filter((combo) => !excluded.some((pattern) => matches(combo, pattern)));
  const original = new Set(lists.map(([key]) => key));
  for (const entry of include) {
    let extended = false;
    for (const combo of combos) {
      const onOriginal = Object.entries(entry).filter(([key]) => original.has(key));
      const overwrites = Object.entries(entry).some(
        ([key, value]) => original.has(key) && !same(combo[key], value),
      );
      if (!overwrites && onOriginal.every(([key, value]) => same(combo[key], value))) {
        // Added keys never overwrite an original value; they may overwrite an added one.
        for (const [key, value] of Object.entries(entry)) {
          if (!original.has(key)) combo[key] = value;
        }
        extended = true;
      }
    }
    if (!extended) combos.push({ ...entry });
  }
  return combos;
}

/** The keys a combination of this matrix may have. */
export function matrixKeys(matrix: Matrix | undefined): Set<string> {
  const keys = new Set<string>();
  if (!matrix) return keys;
  for (const key of Object.keys(matrix)) if (!OPTIONS.has(key)) keys.add(key);
  if (Array.isArray(matrix.include)) {
    for (const entry of matrix.include) for (const key of Object.keys(entry)) keys.add(key);
  }
  return keys;
}
