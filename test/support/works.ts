import {
  type BucketsClient,
  FINISHED_STATUSES,
  type StoredWork,
  type WorkInput,
} from "@workflow/work";
import { createLogger, startWorker } from "@workflow/worker";
import { eventually, type Stack } from "./stack.js";

/**
 * Works deposited and run to their end by a real worker, for the end-to-end tests: a fresh
 * pipeline each time, and the stored works read back once each has finished.
 */

type WorkerSettings = Partial<Parameters<typeof startWorker>[0]>;

/** Whether a stored work has reached a status it will not leave by itself. */
export const finished = (work: StoredWork | undefined): work is StoredWork =>
  work !== undefined && (FINISHED_STATUSES as readonly string[]).includes(work.status);

/** A pipeline name no other test uses: `prefix-` and a random suffix. */
export const freshPipeline = (prefix: string) =>
  `${prefix}-${Math.random().toString(36).slice(2, 10)}`;

/** Deposits `works` into `pipeline` as the admin, with `defaults` under each; answers their ids. */
export async function depositAll(
  stack: Stack,
  pipeline: string,
  works: Partial<WorkInput>[],
  defaults: Partial<WorkInput> = {},
): Promise<string[]> {
  return (await stack.client().deposit(
    works.map((work) => ({ pipeline, site: "local", user: "admin", ...defaults, ...work })),
    { returnIds: true },
  )) as string[];
}

/** The stored work of `id` as the admin reads it now (undefined if there is none). */
export const storedWork = async (stack: Stack, id: string): Promise<StoredWork | undefined> =>
  (await stack.client().view({ id }, { limit: 1 }))[0];

/** The works of `ids`, in that order, once every one has finished. */
export function finishedWorks(stack: Stack, ids: string[], ms = 30_000): Promise<StoredWork[]> {
  const client = stack.client();
  return eventually(async () => {
    const stored = await client.view({ id: { $in: ids } }, { limit: ids.length });
    const byId = new Map(stored.filter(finished).map((w): [string, StoredWork] => [w.id, w]));
    return ids.every((id) => byId.has(id))
      ? ids.map((id) => byId.get(id) as StoredWork)
      : undefined;
  }, ms);
}

export interface WorkerRun {
  /** The worker's directory (its function roots by default). */
  cwd: string;
  /** The worker's settings beyond its pipeline, client and directory; `lives` defaults to one a work. */
  worker?: WorkerSettings;
}

export interface RunOptions extends WorkerRun {
  /** The pipeline's prefix, for a reader of the database. */
  prefix?: string;
  /** Fields under every work (the work's own win). */
  defaults?: Partial<WorkInput>;
}

/**
 * Runs one worker in-process on `pipeline` until it has used its lives (one for each of `ids`
 * unless told), and answers the works of `ids` in that order once all have finished.
 */
export async function runDeposited(
  stack: Stack,
  pipeline: string,
  ids: string[],
  { cwd, worker: settings = {} }: WorkerRun,
): Promise<StoredWork[]> {
  const worker = startWorker({
    pipelines: [pipeline],
    client: stack.client(),
    cwd,
    lives: ids.length,
    wait: 2,
    sleep: 0.1,
    logger: createLogger("silent"),
    ...settings,
  });
  try {
    await worker.done;
  } finally {
    await worker.stop();
  }
  return finishedWorks(stack, ids);
}

/** A worker in this process serving `pipelines` from `cwd` until the test stops it. */
export const serving = (client: BucketsClient, pipelines: string[], cwd: string) =>
  startWorker({ pipelines, client, cwd, wait: 1, sleep: 0.1, logger: createLogger("silent") });

/** Deposits the works into a fresh pipeline and runs them (`runDeposited`), in deposit order. */
export async function runAll(
  stack: Stack,
  works: Partial<WorkInput>[],
  { prefix = "run", defaults = {}, ...run }: RunOptions,
): Promise<StoredWork[]> {
  const pipeline = freshPipeline(prefix);
  return runDeposited(stack, pipeline, await depositAll(stack, pipeline, works, defaults), run);
}

/** `runAll` of one work. */
export async function runOne(
  stack: Stack,
  work: Partial<WorkInput>,
  options: RunOptions,
): Promise<StoredWork> {
  return (await runAll(stack, [work], options))[0] as StoredWork;
}
