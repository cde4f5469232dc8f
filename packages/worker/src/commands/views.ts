import { STATUSES } from "@workflow/work";
import { type Command, Option } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect, integer } from "./parse.js";

interface ViewFlags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

const COUNTED = ["queued", "running", "success", "failure"] as const;

export function registerViews(program: Command): void {
  program
    .command("ls")
    .description("list pipelines with their counts")
    .addHelpText("after", "\nExample:\n  workflow ls --json")
    .action(async (_flags: ViewFlags, command: Command) => {
      const flags = command.optsWithGlobals<ViewFlags>();
      const client = clientFrom(flags);
      const names = await client.pipelines();
      const counts = await Promise.all(names.map((name) => client.details(name)));
      if (outputOf(flags).json) {
        return printJson(names.map((pipeline, i) => ({ pipeline, ...counts[i] })));
      }
      printTable(
        ["PIPELINE", "TOTAL", ...COUNTED.map((s) => s.toUpperCase())],
        names.map((pipeline, i) => [
          pipeline,
          ...["total", ...COUNTED].map((s) => counts[i]?.[s] ?? 0),
        ]),
      );
    });

  program
    .command("ps")
    .description("list a pipeline's works")
    .argument("<pipeline>", "the pipeline")
    .addOption(new Option("--status <status>", "only works with this status").choices(STATUSES))
    .option("--tag <tag>", "only works with this tag (repeatable)", collect)
    .option("--limit <n>", "at most this many", integer, 100)
    .addHelpText("after", "\nExample:\n  workflow ps fit-spectra --status failure --limit 20")
    .action(
      async (
        pipeline: string,
        opts: { status?: string; tag?: string[]; limit: number },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<ViewFlags>();
        const works = await clientFrom(flags).view(
          {
            pipeline,
            ...(opts.status ? { status: opts.status } : {}),
            ...(opts.tag ? { tags: { $in: opts.tag } } : {}),
          },
          { limit: opts.limit },
        );
        if (outputOf(flags).json) return printJson(works);
        printTable(
          ["ID", "STATUS", "PRIORITY", "ATTEMPT", "SITE", "USER", "CREATED"],
          works.map((w) => [
            w.id,
            w.status,
            w.priority,
            w.attempt,
            w.site,
            w.user,
            new Date(w.creation * 1000).toISOString(),
          ]),
        );
      },
    );
}
