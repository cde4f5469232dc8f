import { setTimeout as sleep } from "node:timers/promises";
import type { BucketsClient, LogLine } from "@workflow/work";
import type { Command } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";

interface LogsFlags extends ConnectionFlags {
  attempt?: string;
  follow?: boolean;
  json?: boolean;
}

/** A line as people read it: stderr marked, stdout as it was printed. */
export function formatLine(line: LogLine): string {
  return line.stream === "stderr" ? `[stderr] ${line.text}` : line.text;
}

function cutMarker(cut: number): string {
  return `[... ${cut} bytes of earlier output were cut: the service keeps the last part of each attempt]\n`;
}

/** A work in one of these has had no attempt yet: `--follow` waits for its first. */
const NOT_STARTED = new Set(["created", "waiting", "queued"]);
/** How often `--follow` looks whether a work that has not started has. */
const START_POLL_MS = 1000;

/**
 * Waits until the work has begun its first attempt (or ended without one), saying so once on
 * stderr: following a work just deposited shows its lines, not an attempt that never was.
 * Answers false when Ctrl-C came first.
 */
async function untilStarted(client: BucketsClient, id: string, signal: AbortSignal) {
  let said = false;
  for (;;) {
    const work = await client.show(id);
    if ((work.attempt ?? 0) > 0 || !NOT_STARTED.has(work.status)) return true;
    if (!said)
      process.stderr.write(`work ${id} is ${work.status}: waiting for its first attempt\n`);
    said = true;
    try {
      await sleep(START_POLL_MS, undefined, { signal });
    } catch {
      return false;
    }
  }
}

export function registerLogs(program: Command): void {
  program
    .command("logs")
    .description("print a work's logs: what its command or function printed, attempt by attempt")
    .argument("<id>", "the work's id (from deposit or ps)")
    .option("--attempt <n>", "which attempt (default: the latest)")
    .option(
      "-f, --follow",
      "keep printing new lines until the attempt ends (a work not started yet: its first)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  workflow logs 6650f0c1e4b0a1b2c3d4e5f6\n  workflow logs 6650f0c1e4b0a1b2c3d4e5f6 --attempt 1\n  workflow logs 6650f0c1e4b0a1b2c3d4e5f6 --follow",
    )
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<LogsFlags>();
      const attempt = flags.attempt === undefined ? undefined : Number(flags.attempt);
      if (attempt !== undefined && (!Number.isInteger(attempt) || attempt < 1))
        throw new Error(`--attempt takes a whole number from 1, not "${flags.attempt}"`);
      const client = clientFrom(flags);
      const print = (line: LogLine) =>
        process.stdout.write(flags.json ? `${JSON.stringify(line)}\n` : `${formatLine(line)}\n`);
      if (!flags.follow) {
        if (flags.json) {
          const logs = await client.logs(id, attempt);
          return void process.stdout.write(`${JSON.stringify(logs)}\n`);
        }
        // Page by page: a long log is printed as it comes, never held whole.
        let first = true;
        for await (const page of client.logPages(id, attempt)) {
          if (first && page.cut > 0) process.stdout.write(cutMarker(page.cut));
          first = false;
          for (const line of page.lines) print(line);
        }
        return;
      }
      const stop = new AbortController();
      process.once("SIGINT", () => stop.abort());
      if (attempt === undefined && !(await untilStarted(client, id, stop.signal))) return;
      let started = false;
      await client
        .followLogs(id, print, {
          attempt,
          signal: stop.signal,
        })
        .then((seen) => {
          started = true;
          if (!flags.json) process.stderr.write(`attempt ${seen.attempt} ended\n`);
        })
        .catch((error: unknown) => {
          if (!stop.signal.aborted || started) throw error;
        });
    });
}
