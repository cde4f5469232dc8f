/** Deposits in batches: ids printed in stored order, outages and Ctrl-C told as they happen. */

import { mkdirSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import {
  type BucketsClient,
  BucketsError,
  DEPOSIT_BATCH,
  DEPOSITS_IN_FLIGHT,
  inBatches,
  type Work,
} from "@workflow/work";
import { type Output, printJson } from "./output.js";

/** How long a deposit keeps trying through an outage once it has reached the service. */
const GIVE_UP_MS = 30_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface BatchOptions extends Output {
  /** Ask the service which ids it holds already and send only the others (ids made from content). */
  skipStored: boolean;
  /** The workers supply what to run (`workflow run --function/--command`): works may name neither. */
  static?: boolean;
}

/**
 * Deposits works in batches, DEPOSITS_IN_FLIGHT at once (the service checks one while it stores
 * another). Each batch's ids go to standard output once the service has stored it and those
 * before it, so that a pipe or a file holds exactly what is stored, in order; progress and outages
 * are told on standard error. On Ctrl-C or a failure, says how many are stored and where their
 * ids are.
 */
export async function depositInBatches(
  client: BucketsClient,
  works: Work[],
  ids: string[],
  options: BatchOptions,
): Promise<void> {
  const total = works.length;
  const stored: string[] = [];
  let skipped = 0;
  let sending = 0;
  const tell = (line: string) => options.quiet || process.stderr.write(`${line}\n`);
  // One line redrawn on a terminal; a line a batch in a log.
  const tty = Boolean(process.stderr.isTTY);
  const progress = (line: string) =>
    options.quiet || process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  const summary = (how: string) => {
    const where = stored.length > 0 ? `; their ids are in ${saveIds(stored)}` : "";
    const maybe = sending > 0 ? ` (${sending} more were being sent and may be stored too)` : "";
    process.stderr.write(`${how}: ${stored.length} of ${total} works stored${maybe}${where}\n`);
    if (options.skipStored) {
      process.stderr.write(
        "deposit the same file again to store the rest: nothing is stored twice\n",
      );
    }
  };
  const interrupt = () => {
    process.stderr.write("\n");
    summary("interrupted");
    process.exit(130);
  };
  process.once("SIGINT", interrupt);
  try {
    // Fails at once, with the URLs it tried, when the service cannot be reached at all.
    await client.baseUrl();
    const supplied = { static: options.static ?? false };
    const withIds = works.map((work, i) => ({ ...work, id: ids[i] as string }));
    await inBatches(
      withIds,
      { size: DEPOSIT_BATCH, inFlight: DEPOSITS_IN_FLIGHT },
      async (batch) => {
        // Counted as being sent until told below (or failed): a stored batch may wait there for
        // the one before it.
        sending += batch.length;
        try {
          const present = options.skipStored
            ? await patiently(
                () =>
                  storedAmong(
                    client,
                    batch.map((work) => work.id),
                  ),
                tell,
              )
            : new Set<string>();
          const fresh = batch.filter((work) => !present.has(work.id));
          if (fresh.length > 0) await patiently(() => client.deposit(fresh, supplied), tell);
          return present.size;
        } catch (error) {
          sending -= batch.length;
          throw error;
        }
      },
      (present, batch) => {
        const batchIds = batch.map((work) => work.id);
        sending -= batch.length;
        stored.push(...batchIds);
        skipped += present;
        if (!options.json) process.stdout.write(batchIds.map((id) => `${id}\n`).join(""));
        if (total > DEPOSIT_BATCH) progress(`stored ${stored.length}/${total}`);
      },
    );
    if (total > DEPOSIT_BATCH && tty && !options.quiet) process.stderr.write("\n");
  } catch (error) {
    if (stored.length > 0) summary("stopped");
    throw error;
  } finally {
    process.off("SIGINT", interrupt);
  }
  if (options.json) printJson(stored);
  if (skipped === total) tell(`all ${total} works were stored already: nothing new to store`);
  else if (skipped > 0) tell(`${skipped} of ${total} works were stored already; the rest are new`);
}

/** The ids among `ids` that the service holds. */
async function storedAmong(client: BucketsClient, ids: string[]): Promise<Set<string>> {
  const found = await client.view(
    { id: { $in: ids } },
    { projection: { id: 1 }, limit: ids.length },
  );
  return new Set(found.map((work) => work.id));
}

/**
 * Runs `call` again while the service is unreachable or busy, saying so each time, for up to
 * GIVE_UP_MS. Safe for deposits because every work carries its id.
 */
async function patiently<T>(call: () => Promise<T>, tell: (line: string) => void): Promise<T> {
  const giveUpAt = Date.now() + GIVE_UP_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await call();
      if (attempt > 0) tell("the service answers again");
      return value;
    } catch (error) {
      if (!(error instanceof BucketsError) || !error.retryable) throw error;
      const pause = Math.max(
        (error.retryAfterSeconds ?? 0) * 1000,
        Math.min(5_000, 500 * 2 ** attempt),
      );
      const left = Math.round((giveUpAt - Date.now()) / 1000);
      if (Date.now() + pause > giveUpAt) throw error;
      tell(
        `${error.message}; retrying in ${pause / 1000} s (giving up in ${left} s; Ctrl-C stops)`,
      );
      await sleep(pause);
    }
  }
}

/** Writes the stored ids where the user can find them after the terminal has scrolled. */
function saveIds(ids: string[]): string {
  const name = `deposit-${new Date().toISOString().replace(/[:.]/g, "-")}.ids`;
  const state = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  for (const dir of [join(state, "workflow"), tmpdir()]) {
    try {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, name);
      writeFileSync(path, ids.map((id) => `${id}\n`).join(""));
      return path;
    } catch {
      // try the next place
    }
  }
  return "standard output only (no writable directory)";
}
