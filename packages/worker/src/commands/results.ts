/** `workflow results`: the results store with CHIME's filters, and the transfer into it. */

import {
  type BucketsClient,
  RESULT_STATUSES,
  ResultsClient,
  type StoredWork,
  TRANSFER_BATCH,
  transferFinished,
} from "@workflow/work";
import { type Command, Option } from "commander";
import { type ConnectionFlags, clientFrom, workspaceFrom } from "./connection.js";
import { outcomeOf } from "./describe.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect, integer } from "./parse.js";

interface ResultsFlags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
  resultsUrl?: string[];
}

interface FilterOptions {
  status?: string[];
  event?: number[];
  tag?: string[];
}

/** The results store's client, from the same flags as the queue's, plus --results-url. */
function resultsFrom(flags: ResultsFlags): ResultsClient {
  const workspace = workspaceFrom(flags);
  const client = new ResultsClient({
    ...(flags.url?.length ? { baseUrls: flags.url } : {}),
    ...(flags.resultsUrl?.length ? { resultsUrls: flags.resultsUrl } : {}),
    ...(flags.token ? { token: flags.token } : {}),
    ...(workspace ? { workspace } : {}),
  });
  if (!client.settings.token) throw new Error("no token: set WORKFLOW_TOKEN or pass --token");
  return client;
}

/** CHIME's `workflow results view` filters: any of these statuses, events, tags. */
function filterOf({ status, event, tag }: FilterOptions): Record<string, unknown> {
  return {
    ...(status?.length ? { status: { $in: status } } : {}),
    ...(event?.length ? { event: { $in: event } } : {}),
    ...(tag?.length ? { tags: { $in: tag } } : {}),
  };
}

const withFilters = (command: Command) =>
  command
    .addOption(
      new Option("--status <status>", "only results with this status (repeatable)")
        .choices(RESULT_STATUSES)
        .argParser(collect),
    )
    .option(
      "--event <n>",
      "only results of this event (repeatable)",
      (v: string, p: number[] = []) => [...p, integer(v)],
    )
    .option("--tag <tag>", "only results with this tag (repeatable)", collect);

export function registerResults(program: Command): void {
  const results = program
    .command("results")
    .description("the results store: finished works, kept after they leave the queue")
    .option(
      "--results-url <url>",
      "the results store's URL (default: <service>/results-service)",
      collect,
    );

  results
    .command("ls")
    .description("list pipelines with how many results each keeps")
    .addHelpText("after", "\nExample:\n  workflow results ls --json")
    .action(async (_opts: object, command: Command) => {
      const flags = command.optsWithGlobals<ResultsFlags>();
      const counts = await resultsFrom(flags).status();
      if (outputOf(flags).json) return printJson(counts);
      if (Object.keys(counts).length === 0 && !flags.quiet) {
        process.stderr.write(
          "no results yet: `workflow results transfer` moves finished works here\n",
        );
      }
      printTable(["PIPELINE", "RESULTS"], Object.entries(counts));
    });

  withFilters(
    results
      .command("view")
      .description("list a pipeline's results")
      .argument("<pipeline>", "the pipeline")
      .option("--limit <n>", "at most this many", integer, 10)
      .option("--skip <n>", "skip this many first", integer, 0)
      .addHelpText("after", "\nExample:\n  workflow results view fit --event 9386707 --json"),
  ).action(
    async (
      pipeline: string,
      opts: FilterOptions & { limit: number; skip: number },
      command: Command,
    ) => {
      const flags = command.optsWithGlobals<ResultsFlags>();
      const found = await resultsFrom(flags).view(pipeline, filterOf(opts), {
        skip: opts.skip,
        limit: opts.limit,
      });
      if (outputOf(flags).json) return printJson(found);
      if (found.length === 0 && !flags.quiet) process.stderr.write("no results found\n");
      printResults(found);
    },
  );

  withFilters(
    results
      .command("count")
      .description("how many results of a pipeline match")
      .argument("<pipeline>", "the pipeline")
      .addHelpText(
        "after",
        "\nExample:\n  workflow results count fit --status failure --tag nightly",
      ),
  ).action(async (pipeline: string, opts: FilterOptions, command: Command) => {
    const flags = command.optsWithGlobals<ResultsFlags>();
    const n = await resultsFrom(flags).count(pipeline, filterOf(opts));
    if (outputOf(flags).json) return printJson(n);
    process.stdout.write(`${n}\n`);
  });

  results
    .command("transfer")
    .description("move finished works from the queue to the results store, until none is left")
    .option("--batch <n>", "works per round", integer, TRANSFER_BATCH)
    .addHelpText(
      "after",
      "\nWorks are kept in results before they leave the queue: stopped at any point, run it again.\n\nExample:\n  workflow results transfer --batch 200",
    )
    .action(async (opts: { batch: number }, command: Command) => {
      const flags = command.optsWithGlobals<ResultsFlags>();
      const buckets: BucketsClient = clientFrom(flags);
      const done = await transferFinished(buckets, resultsFrom(flags), { batch: opts.batch });
      if (outputOf(flags).json) return printJson(done);
      if (!flags.quiet) process.stdout.write(`kept ${done.kept}, dropped ${done.dropped}\n`);
    });
}

function printResults(works: StoredWork[]): void {
  printTable(
    ["ID", "STATUS", "EVENT", "TAGS", "STOPPED", "RESULT"],
    works.map((w) => [
      w.id,
      w.status,
      w.event?.join(",") || "-",
      w.tags?.join(",") || "-",
      w.stop ? new Date(w.stop * 1000).toISOString().slice(0, 19).replace("T", " ") : "-",
      outcomeOf(w, 60) ?? "-",
    ]),
  );
}
