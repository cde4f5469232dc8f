/** `workflow retry`: finished works queued again, as the dashboard's Retry does. */

import { FINISHED_STATUSES, STATUSES } from "@workflow/work";
import { type Command, Option } from "commander";
import { bulkAction, refusalsOf } from "./bulk.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson } from "./output.js";
import { collect } from "./parse.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

interface RetryOptions {
  pipeline?: string;
  status?: string;
  tag?: string[];
}

/**
 * `workflow retry`: the dashboard's Retry (POST /work/bulk, action retry), so a finished work
 * (success, failure, skipped, cancelled) is queued again with a fresh set of retries, and the
 * service's transition table and per-work permissions decide, as they do for the dashboard.
 */
export function registerRetry(program: Command): void {
  program
    .command("retry")
    .description("queue finished works again with fresh retries, as the dashboard's Retry does")
    .argument("[id...]", "the works")
    .option("--pipeline <name>", "works of this pipeline")
    .addOption(new Option("--status <status>", "works with this status").choices(STATUSES))
    .option("--tag <tag>", "works with this tag (repeatable)", collect)
    .addHelpText(
      "after",
      "\nExamples:\n  workflow retry 6650f0c1e4b0a1b2c3d4e5f6\n  workflow retry --pipeline fit-spectra --status failure\n\nA work of a pipeline run is retried alone; `workflow rerun` re-runs it with what depends on it.",
    )
    .action(async (ids: string[], opts: RetryOptions, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      if (ids.length === 0 && !opts.pipeline && !opts.status && !opts.tag) {
        throw new UsageError("give the works' ids, or --pipeline, --status or --tag");
      }
      if (opts.status && !isFinished(opts.status)) {
        throw new UsageError(
          `--status ${opts.status}: only finished works (${FINISHED_STATUSES.join(", ")}) can be retried`,
        );
      }
      // Only finished works: the service would take a queued one as a no-op edit, not a retry.
      const query: Record<string, unknown> = {
        status: opts.status ?? { $in: FINISHED_STATUSES },
        ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
        ...(opts.tag ? { tags: { $in: opts.tag } } : {}),
      };
      const client = clientFrom(flags);
      const problems: string[] = [];
      if (ids.length > 0) {
        const { status: _, ...named } = query;
        const found = await client.view(
          { ...named, id: { $in: ids } },
          { projection: { id: 1, status: 1 }, limit: ids.length },
        );
        const statuses = new Map(found.map((w) => [w.id, w.status]));
        for (const id of ids) {
          const status = statuses.get(id);
          if (status === undefined) problems.push(`${id}: no such work (or not yours to see)`);
          else if (!isFinished(status))
            problems.push(`${id}: ${status}, not finished: nothing to retry`);
        }
        query.id = { $in: ids.filter((id) => isFinished(statuses.get(id))) };
      }
      const count = await client.count(query);
      const result =
        count === 0 ? undefined : await bulkAction(client, "retry", query, count, outputOf(flags));
      if (result) problems.push(...refusalsOf(result, "retried"));
      const asked = ids.length > 0 ? ids.length : (result?.matched ?? 0);
      if (outputOf(flags).json) {
        const {
          confirmed: _,
          complete: __,
          ...counts
        } = result ?? {
          confirmed: 0,
          complete: true,
          matched: 0,
          done: 0,
          refused: 0,
          reasons: [],
        };
        printJson({ ...counts, problems });
      } else if (!flags.quiet) {
        process.stdout.write(
          asked === 0
            ? "no finished works match\n"
            : `retried ${result?.done ?? 0} of ${asked} works\n`,
        );
      }
      for (const problem of problems) process.stderr.write(`workflow: ${problem}\n`);
      if (problems.length > 0 && process.exitCode === undefined) process.exitCode = 1;
    });
}

function isFinished(status: string | undefined): boolean {
  return (FINISHED_STATUSES as readonly (string | undefined)[]).includes(status);
}
