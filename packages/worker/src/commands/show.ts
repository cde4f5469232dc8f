/** `workflow show`: one work in full. */

import type { StoredWork } from "@workflow/work";
import type { Command } from "commander";
import { stringify } from "yaml";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { duration, statusLine } from "./describe.js";
import { formatLine } from "./logs.js";
import { printJson } from "./output.js";

export function registerShow(program: Command): void {
  program
    .command("show")
    .description(
      "show one work in full: its command, parameters, outcome, history, archive errors and last log lines",
    )
    .argument("<id>", "the work's id (from deposit or ps)")
    .addHelpText("after", "\nExample:\n  workflow show 6650f0c1e4b0a1b2c3d4e5f6 --json")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
      const { logs, ...work } = await clientFrom(flags).show(id);
      if (flags.json) return printJson({ ...work, logs });
      const took = duration(work);
      const shown = { ...withIsoTimes(work), status: statusLine(work) };
      process.stdout.write(stringify(took ? { ...shown, duration: took } : shown));
      // Said apart from the rest: a failed archive does not fail the work, so it is easy to miss.
      const errors = work.archive?.errors ?? [];
      if (errors.length > 0)
        process.stdout.write(
          `\narchive errors (products or plots may not be where the work says):\n${errors.map((e) => `  - ${e}\n`).join("")}`,
        );
      process.stdout.write(
        work.cached
          ? `\nreused: taken from the cache, as the success of work ${work.cached.from} (same key); it did not run here (workflow show ${work.cached.from} for its logs)\n`
          : work.attempt === 0
            ? `\nno log lines: it has not run yet (${work.status})\n`
            : logs.lines.length === 0
              ? `\nno log lines for attempt ${logs.attempt}\n`
              : `\nlast log lines of attempt ${logs.attempt} (workflow logs ${id} for all):\n${logs.lines.map((line) => `  ${formatLine(line)}\n`).join("")}`,
      );
    });
}

/** The fields that hold unix seconds: --json keeps them so, people read ISO times. */
const TIMES = ["creation", "start", "stop", "leaseUntil", "notBefore", "retryAt"] as const;

function withIsoTimes(work: StoredWork): Record<string, unknown> {
  const iso = (seconds: number | undefined) =>
    seconds === undefined ? undefined : new Date(seconds * 1000).toISOString();
  const shown: Record<string, unknown> = { ...work };
  for (const field of TIMES) if (work[field] !== undefined) shown[field] = iso(work[field]);
  if (work.cached) shown.cached = { ...work.cached, at: iso(work.cached.at) };
  if (work.history) {
    shown.history = work.history.map((entry) => ({
      ...entry,
      ...(entry.start === undefined ? {} : { start: iso(entry.start) }),
      ...(entry.stop === undefined ? {} : { stop: iso(entry.stop) }),
    }));
  }
  return shown;
}
