/**
 * `workflow rm|cancel|audit`: works removed or cancelled by id or by filter, and CHIME's audits.
 */

import { createInterface } from "node:readline/promises";
import { type BucketsClient, STATUSES, UNFINISHED_STATUSES } from "@workflow/work";
import { type Command, Option } from "commander";
import { bulkAction, refusalsOf } from "./bulk.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect } from "./parse.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

export function registerManage(program: Command): void {
  program
    .command("rm")
    .description("delete works matching filters (asks first)")
    .option("--pipeline <name>", "works of this pipeline")
    .addOption(new Option("--status <status>", "works with this status").choices(STATUSES))
    .option("--tag <tag>", "works with this tag (repeatable)", collect)
    .option("--id <id>", "this work (repeatable)", collect)
    .option("-y, --yes", "do not ask")
    .addHelpText("after", "\nExample:\n  workflow rm --pipeline fit-spectra --status failure --yes")
    .action(
      async (
        opts: { pipeline?: string; status?: string; tag?: string[]; id?: string[]; yes?: boolean },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<Flags>();
        const query = {
          ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
          ...(opts.status ? { status: opts.status } : {}),
          ...(opts.tag ? { tags: { $in: opts.tag } } : {}),
          ...(opts.id ? { id: { $in: opts.id } } : {}),
        };
        if (Object.keys(query).length === 0) {
          throw new UsageError(
            "refusing to delete every work: give --pipeline, --status, --tag or --id",
          );
        }
        const client = clientFrom(flags);
        const count = await client.count(query);
        if (count === 0) {
          if (!flags.quiet) process.stdout.write("no works match\n");
          return;
        }
        if (!opts.yes && !(await confirm(`delete ${count} works? [y/N] `))) {
          process.stdout.write("nothing deleted\n");
          return;
        }
        const progress = await bulkAction(client, "delete", query, count, outputOf(flags));
        const problems = refusalsOf(progress, "deleted");
        if (outputOf(flags).json) printJson({ deleted: progress.done, problems });
        else if (!flags.quiet) process.stdout.write(`deleted ${progress.done} works\n`);
        for (const problem of problems) process.stderr.write(`workflow: ${problem}\n`);
        if (problems.length > 0 && process.exitCode === undefined) process.exitCode = 1;
      },
    );

  program
    .command("cancel")
    .description("cancel works that have not finished, by id or by filter")
    .argument("[id...]", "the works")
    .option("--pipeline <name>", "unfinished works of this pipeline")
    .addOption(
      new Option("--status <status>", "works with this status").choices(UNFINISHED_STATUSES),
    )
    .option("--tag <tag>", "unfinished works with this tag (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  workflow cancel 6650f0c1e4b0a1b2c3d4e5f6\n  workflow cancel --pipeline fit-spectra --status queued",
    )
    .action(
      async (
        ids: string[],
        opts: { pipeline?: string; status?: string; tag?: string[] },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<Flags>();
        const client = clientFrom(flags);
        if (ids.length > 0 && (opts.pipeline || opts.status || opts.tag)) {
          throw new UsageError("give the works' ids or --pipeline, --status, --tag: not both");
        }
        if (ids.length === 0) {
          if (!opts.pipeline && !opts.status && !opts.tag) {
            throw new UsageError("give the works' ids, or --pipeline, --status or --tag");
          }
          return cancelMatching(client, opts, flags);
        }
        for (const id of ids) {
          await client.cancel(id);
          if (!flags.quiet && !flags.json) process.stdout.write(`cancelled ${id}\n`);
        }
        if (flags.json) printJson({ cancelled: ids });
      },
    );

  program
    .command("audit")
    .description(
      "re-queue failures with retries left, expire lapsed attempts, and fail stale works",
    )
    .option(
      "--stale <days>",
      "works older than this many days and not finished become failures",
      "7",
    )
    .addHelpText("after", "\nExample:\n  workflow audit --stale 30")
    .action(async (opts: { stale: string }, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const days = Number(opts.stale);
      if (!(days >= 0)) throw new UsageError("--stale takes a number of days");
      const counts = await clientFrom(flags).audit({ staleDays: days });
      if (outputOf(flags).json) return printJson(counts);
      printTable(
        ["AUDIT", "WORKS"],
        Object.entries(counts).map(([name, n]) => [name, String(n)]),
      );
    });
}

/** Cancels every unfinished work a filter matches, page after page (POST /work/bulk). */
async function cancelMatching(
  client: BucketsClient,
  opts: { pipeline?: string; status?: string; tag?: string[] },
  flags: Flags,
): Promise<void> {
  // Only unfinished works: a cancelled one stays in the filter, and a second run would count it.
  const query = {
    status: opts.status ?? { $in: UNFINISHED_STATUSES },
    ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
    ...(opts.tag ? { tags: { $in: opts.tag } } : {}),
  };
  const count = await client.count(query);
  const progress =
    count === 0 ? undefined : await bulkAction(client, "cancel", query, count, outputOf(flags));
  const problems = progress ? refusalsOf(progress, "cancelled") : [];
  if (outputOf(flags).json) printJson({ cancelled: progress?.done ?? 0, problems });
  else if (!flags.quiet) {
    process.stdout.write(
      progress ? `cancelled ${progress.done} works\n` : "no unfinished works match\n",
    );
  }
  for (const problem of problems) process.stderr.write(`workflow: ${problem}\n`);
  if (problems.length > 0 && process.exitCode === undefined) process.exitCode = 1;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } catch {
    return false; // no input to answer from: do not delete
  } finally {
    rl.close();
  }
}
