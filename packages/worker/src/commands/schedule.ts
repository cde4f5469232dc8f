/** `workflow schedule`: schedules of works or pipelines, added, listed and controlled. */

import { basename, extname } from "node:path";
import { MissedSchema, type ScheduleDetail, type ScheduleTarget } from "@workflow/work";
import type { Command } from "commander";
import { paramsOf, readConfigFile } from "./config-file.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect, integer } from "./parse.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

interface AddOptions {
  cron: string;
  tz?: string;
  name?: string;
  lives: number;
  missed: string;
  param?: string[];
  disabled?: boolean;
  dryRun?: boolean;
}

const when = (seconds: number | null) =>
  seconds === null ? "-" : new Date(seconds * 1000).toISOString();

/**
 * A target file: a list of works, a mapping with `works:`, or a pipeline config (`pipeline:`),
 * sent as its text so the service reads it exactly as `workflow pipeline run` would.
 */
function readTarget(path: string, params?: Record<string, unknown>): ScheduleTarget {
  const { text, parsed } = readConfigFile(path);
  if (Array.isArray(parsed)) return { works: parsed };
  if (parsed !== null && typeof parsed === "object") {
    if ("works" in parsed && Array.isArray(parsed.works)) return { works: parsed.works };
    if ("pipeline" in parsed) return { config: text, ...(params ? { params } : {}) };
  }
  throw new UsageError(
    `${path}: a schedule's target is a list of works, a mapping with works: [...], or a pipeline config`,
  );
}

function printDetail(schedule: ScheduleDetail, dryRun: boolean): void {
  const state = schedule.done ? "done" : schedule.enabled ? "enabled" : "paused";
  process.stdout.write(
    `schedule ${dryRun ? "(dry run: nothing stored)" : schedule.id}  ${schedule.name}  ${state}  "${schedule.cron}" ${schedule.timezone}  lives ${schedule.lives}  missed ${schedule.missed}  fired ${schedule.fired}\n`,
  );
  if (schedule.pausedReason) process.stdout.write(`paused: ${schedule.pausedReason}\n`);
  process.stdout.write("next fire times:\n");
  for (const t of schedule.next) process.stdout.write(`  ${when(t)}\n`);
  if (dryRun) return;
  process.stdout.write("last ticks:\n");
  for (const tick of schedule.ticks) {
    const what = tick.error
      ? `error: ${tick.error}`
      : tick.run
        ? `run ${tick.run} (${tick.works?.length ?? 0} works)`
        : `works ${(tick.works ?? []).join(", ")}`;
    process.stdout.write(`  ${when(tick.tick)}  ${what}\n`);
  }
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command("schedule")
    .description("cron schedules of works and pipeline runs, fired once by the service");

  schedule
    .command("add")
    .description("add a schedule: FILE is a list of works or a pipeline config")
    .argument("<file>", "the target, or - for standard input")
    .requiredOption("--cron <pattern>", 'when: 5 fields ("0 2 * * *") or 6 (seconds first)')
    .option("--tz <zone>", "the IANA timezone the pattern is read in (default UTC)")
    .option("--name <name>", "unique among your schedules (default: the file's name)")
    .option("--lives <n>", "fire this many times, -1 for ever", integer, -1)
    .option(
      "--missed <policy>",
      "ticks missed while the service was down: skip, latest or all",
      "skip",
    )
    .option("--param <name=value>", "a param of the pipeline config (repeatable)", collect)
    .option("--disabled", "add it paused")
    .option("--dry-run", "check it and print the next fire times; store nothing")
    .addHelpText(
      "after",
      '\nExamples:\n  workflow schedule add nightly.yaml --cron "0 2 * * *" --tz Europe/Berlin --dry-run\n  workflow schedule add fit.yaml --cron "*/15 * * * *" --lives 10',
    )
    .action(async (file: string, opts: AddOptions, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const missed = MissedSchema.safeParse(opts.missed);
      if (!missed.success) throw new UsageError(`--missed ${opts.missed}: use skip, latest or all`);
      const name = opts.name ?? (file === "-" ? undefined : basename(file, extname(file)));
      if (!name) throw new UsageError("name the schedule with --name");
      const dryRun = Boolean(opts.dryRun);
      const added = await clientFrom(flags).addSchedule(
        {
          name,
          cron: opts.cron,
          ...(opts.tz ? { timezone: opts.tz } : {}),
          target: readTarget(file, opts.param?.length ? paramsOf(opts.param) : undefined),
          lives: opts.lives,
          missed: missed.data,
          enabled: !opts.disabled,
        },
        { dryRun },
      );
      if (outputOf(flags).json) return printJson(added);
      if (flags.quiet) return void process.stdout.write(`${added.id}\n`);
      printDetail(added, dryRun);
    });

  schedule
    .command("ls")
    .description("list your schedules (an admin's: everyone's)")
    .action(async (_opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const all = await clientFrom(flags).schedules();
      if (outputOf(flags).json) return printJson(all);
      printTable(
        ["ID", "NAME", "USER", "CRON", "TZ", "STATE", "FIRED", "NEXT RUN"],
        all.map((s) => [
          s.id,
          s.name,
          s.user,
          s.cron,
          s.timezone,
          s.done ? "done" : s.enabled ? "enabled" : "paused",
          s.fired,
          when(s.nextRun),
        ]),
      );
    });

  schedule
    .command("ps")
    .description(
      "a schedule: its next 5 fire times and its last 20 ticks, with what each deposited",
    )
    .argument("<id>", "the schedule's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const detail = await clientFrom(flags).schedule(id);
      if (outputOf(flags).json) return printJson(detail);
      printDetail(detail, false);
    });

  for (const [verb, what] of [
    ["pause", "fire nothing until resumed"],
    ["resume", "fire again from the next tick on (what passed is skipped)"],
  ] as const) {
    schedule
      .command(verb)
      .description(`${verb} a schedule: ${what}`)
      .argument("<id>", "the schedule's id")
      .action(async (id: string, _opts: object, command: Command) => {
        const flags = command.optsWithGlobals<Flags>();
        const client = clientFrom(flags);
        const answer =
          verb === "pause" ? await client.pauseSchedule(id) : await client.resumeSchedule(id);
        if (outputOf(flags).json) return printJson(answer);
        if (!flags.quiet)
          process.stdout.write(`${verb === "pause" ? "paused" : "resumed"} schedule ${id}\n`);
      });
  }

  schedule
    .command("rm")
    .description("remove a schedule and its history (what it deposited stays)")
    .argument("<id>", "the schedule's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const answer = await clientFrom(flags).removeSchedule(id);
      if (outputOf(flags).json) return printJson(answer);
      if (!flags.quiet) process.stdout.write(`removed schedule ${id}\n`);
    });
}
