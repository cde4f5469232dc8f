/** The statistics the bench reports: medians, percentiles, latencies. */

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The p-th percentile (0-100), nearest rank. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[
    Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  ] as number;
}

export const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Runs `measure` `runs` times and answers the median. */
export async function medianOf(
  runs: number,
  measure: (run: number) => Promise<number>,
): Promise<number> {
  const values: number[] = [];
  for (let run = 0; run < runs; run++) values.push(await measure(run));
  return median(values);
}

/** One measured run: its rate, and how busy each process was meanwhile (CPU seconds per second). */
export interface Run {
  rate: number;
  busy: Record<string, number>;
}

/** The run of median rate (the middle one: runs are taken an odd number of times). */
export function medianRun(runs: Run[]): Run {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)] as Run;
}

/** Runs `measure` `runs` times and answers the run of median rate. */
export async function medianRunOf(runs: number, measure: () => Promise<Run>): Promise<Run> {
  const all: Run[] = [];
  for (let run = 0; run < runs; run++) all.push(await measure());
  return medianRun(all);
}

/** Milliseconds per call, one call at a time. */
export async function latencies(samples: number, call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  return times;
}

/** The p50 and p99 of some latencies, rounded. */
export const p50p99 = (values: number[]) => ({
  p50: round(percentile(values, 50)),
  p99: round(percentile(values, 99)),
});

export const log = (message: string) => process.stderr.write(`bench: ${message}\n`);
