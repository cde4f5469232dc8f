import { createInterface } from "node:readline/promises";
import { STATUSES } from "@workflow/work";
import { type Command, Option } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect } from "./parse.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

const DELETE_BATCH = 1_000;

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
        let deleted = 0;
        while (deleted < count) {
          const ids = (
            await client.view(query, { projection: { id: 1 }, limit: DELETE_BATCH })
          ).map((w) => w.id);
          if (ids.length === 0) break;
          await client.delete(ids);
          deleted += ids.length;
        }
        if (outputOf(flags).json) printJson({ deleted });
        else if (!flags.quiet) process.stdout.write(`deleted ${deleted} works\n`);
      },
    );

  program
    .command("cancel")
    .description("cancel works that have not finished")
    .argument("<id...>", "the works")
    .addHelpText("after", "\nExample:\n  workflow cancel 6650f0c1e4b0a1b2c3d4e5f6")
    .action(async (ids: string[], _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const client = clientFrom(flags);
      for (const id of ids) {
        await client.cancel(id);
        if (!flags.quiet && !flags.json) process.stdout.write(`cancelled ${id}\n`);
      }
      if (flags.json) printJson({ cancelled: ids });
    });

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
