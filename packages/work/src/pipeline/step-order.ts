/** The order a run's steps go in: each step's needs (stages included), and no cycles. */
import { label, PipelineConfigError } from "./config-error.js";
import type { Step } from "./schema.js";

/** A step's needs: its own `needs`, and every step of the stage before its own. */
export function needsOf(
  step: Step,
  i: number,
  steps: Step[],
  byName: Map<string, number>,
): string[] {
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
export function topologicalOrder(steps: Step[], needs: string[][]): number[] {
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
