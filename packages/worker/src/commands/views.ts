/** `workflow ls|ps`: the queue read, by pipeline and filter. */

import { type BucketsClient, MAX_VIEW_LIMIT, STATUSES, type StoredWork } from "@workflow/work";
import { type Command, Option } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { duration, outcomeOf, statusLine } from "./describe.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect, integer } from "./parse.js";

interface ViewFlags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

interface PsOptions {
  status?: string;
  tag?: string[];
  step?: string;
  limit: number;
  all?: boolean;
}

export function registerViews(program: Command): void {
  program
    .command("ls")
    .description("list pipelines with their counts, one column a status")
    .addHelpText("after", "\nExample:\n  workflow ls --json")
    .action(async (_flags: ViewFlags, command: Command) => {
      const flags = command.optsWithGlobals<ViewFlags>();
      const client = clientFrom(flags);
      const names = await client.pipelines();
      const counts = await Promise.all(names.map((name) => client.details(name, { all: true })));
      if (outputOf(flags).json) {
        return printJson(names.map((pipeline, i) => ({ pipeline, ...counts[i] })));
      }
      if (names.length === 0 && !flags.quiet) {
        process.stderr.write(
          "no pipelines yet: works deposited with `workflow deposit` appear here\n",
        );
      }
      printTable(
        ["PIPELINE", "TOTAL", ...STATUSES.map((s) => s.toUpperCase())],
        names.map((pipeline, i) => [
          pipeline,
          ...(["total", ...STATUSES] as const).map((s) => counts[i]?.[s] ?? 0),
        ]),
      );
    });

  program
    .command("ps")
    .description("list a pipeline's works, with their outcome and duration")
    .argument("<pipeline>", "the pipeline")
    .addOption(new Option("--status <status>", "only works with this status").choices(STATUSES))
    .option("--tag <tag>", "only works with this tag (repeatable)", collect)
    .option("--step <name>", "only works of this step of a pipeline run")
    .option("--limit <n>", "at most this many", integer, 100)
    .option("--all", "every work, however many")
    .addHelpText(
      "after",
      "\nExamples:\n  workflow ps fit-spectra --status failure --limit 20\n  workflow ps fit-spectra --all --json > works.json",
    )
    .action(async (pipeline: string, opts: PsOptions, command: Command) => {
      const flags = command.optsWithGlobals<ViewFlags>();
      const client = clientFrom(flags);
      await requireKnown(client, pipeline);
      const query = {
        pipeline,
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.tag ? { tags: { $in: opts.tag } } : {}),
        ...(opts.step ? { step: opts.step } : {}),
      };
      const [works, count] = await Promise.all([
        opts.all ? everyWork(client, query) : client.view(query, { limit: opts.limit }),
        client.count(query),
      ]);
      if (outputOf(flags).json) printJson(works);
      else printWorks(works);
      if (works.length < count && !flags.quiet) {
        const n = (value: number) => value.toLocaleString("en-US");
        process.stderr.write(`${n(works.length)} of ${n(count)} shown; --limit or --all\n`);
      }
    });
}

/** A pipeline nobody deposited to is a typo more often than an empty pipeline: say which exist. */
async function requireKnown(client: BucketsClient, pipeline: string): Promise<void> {
  const known = await client.pipelines();
  if (known.includes(pipeline)) return;
  throw new Error(
    known.length === 0
      ? `no pipeline "${pipeline}": there are no pipelines yet`
      : `no pipeline "${pipeline}"; known pipelines: ${known.join(", ")}`,
  );
}

async function everyWork(
  client: BucketsClient,
  query: Record<string, unknown>,
): Promise<StoredWork[]> {
  const works: StoredWork[] = [];
  for (;;) {
    const page = await client.view(query, { skip: works.length, limit: MAX_VIEW_LIMIT });
    works.push(...page);
    if (page.length < MAX_VIEW_LIMIT) return works;
  }
}

/** A run's work by its step and combination: `fit[alpha=1,beta=2]`. */
export function placeOf(work: Pick<StoredWork, "step" | "matrix">): string {
  if (work.step === undefined) return "-";
  const combo = Object.entries(work.matrix ?? {}).map(
    ([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`,
  );
  return combo.length > 0 ? `${work.step}[${combo.join(",")}]` : work.step;
}

function printWorks(works: StoredWork[]): void {
  // Works of pipeline runs say their step; a pipeline of plain deposits keeps its columns.
  const steps = works.some((w) => w.step !== undefined);
  printTable(
    [
      "ID",
      ...(steps ? ["STEP"] : []),
      "STATUS",
      "ATTEMPT",
      "PRIORITY",
      "SITE",
      "USER",
      "CREATED",
      "DURATION",
      "RESULT",
    ],
    works.map((w) => [
      w.id,
      ...(steps ? [placeOf(w)] : []),
      // A success taken from the cache says which success it stands for.
      w.cached ? `${statusLine(w)} (cached from ${w.cached.from})` : statusLine(w),
      w.attempt,
      w.priority,
      w.site,
      w.user,
      new Date(w.creation * 1000).toISOString().slice(0, 19).replace("T", " "),
      duration(w) ?? "-",
      outcomeOf(w, 60) ?? "-",
    ]),
  );
}
