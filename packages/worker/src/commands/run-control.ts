/** `workflow pipeline pause|resume|merge`, and how a run's status and limits are printed. */

import { PipelineConfigError, type RunSummary, stepsOf } from "@workflow/work";
import type { Command } from "commander";
import { readConfigFile } from "./config-file.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson } from "./output.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString();

/** `pipeline ps`'s first line: the run's status, and whether it is paused, its deadline and cap. */
export function runHeadline(run: RunSummary): string {
  const marks = [
    run.paused === undefined ? "" : `paused since ${iso(run.paused)}`,
    run.deadline === undefined || run.status !== "running"
      ? ""
      : `times out at ${iso(run.deadline)}`,
    run.maxParallel === undefined ? "" : `max-parallel ${run.maxParallel}`,
  ].filter(Boolean);
  const status = run.paused === undefined ? run.status : `${run.status} (paused)`;
  return `run ${run.id}  ${run.name}  ${status}  (user ${run.user})${marks.length > 0 ? `  ${marks.join(", ")}` : ""}\n`;
}

/** `workflow pipeline pause|resume|merge`: Gaia's halt, run and merge. */
export function registerRunControl(pipeline: Command): void {
  pipeline
    .command("pause")
    .description("pause a run: nothing more is queued; running works finish and are recorded")
    .argument("<run>", "the run's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const answer = await clientFrom(flags).pauseRun(id);
      if (outputOf(flags).json) return printJson(answer);
      if (!flags.quiet) {
        process.stdout.write(
          `paused run ${id} (${answer.waiting} queued works back to waiting)\nresume it: workflow pipeline resume ${id}\n`,
        );
      }
    });

  pipeline
    .command("resume")
    .description("resume a paused run")
    .argument("<run>", "the run's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const answer = await clientFrom(flags).resumeRun(id);
      if (outputOf(flags).json) return printJson(answer);
      if (!flags.quiet) process.stdout.write(`resumed run ${id}\n`);
    });

  pipeline
    .command("merge")
    .description(
      "add steps to a running run, or replace its steps of the same name (they and what follows them run again)",
    )
    .argument("<run>", "the run's id")
    .argument("<file>", "the steps (YAML or JSON: a list, or steps: [..]), or - for standard input")
    .addHelpText(
      "after",
      "\nExample:\n  workflow pipeline merge 6650f0c1e4b0a1b2c3d4e5f6 steps.yaml",
    )
    .action(async (id: string, file: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const { parsed } = readConfigFile(file);
      let steps: Record<string, unknown>[];
      try {
        steps = stepsOf(parsed);
      } catch (error) {
        if (error instanceof PipelineConfigError) throw new UsageError(`${file}: ${error.message}`);
        throw error;
      }
      const answer = await clientFrom(flags).mergeSteps(id, steps);
      if (outputOf(flags).json) return printJson(answer);
      if (flags.quiet) return;
      if (answer.added.length === 0 && answer.replaced.length === 0) {
        process.stdout.write(`nothing to merge: run ${id} already has these steps as given\n`);
        return;
      }
      const parts = [
        answer.added.length > 0 ? `added ${answer.added.join(", ")}` : "",
        answer.replaced.length > 0 ? `replaced ${answer.replaced.join(", ")}` : "",
        answer.again.length > 0 ? `running again ${answer.again.join(", ")}` : "",
      ].filter(Boolean);
      process.stdout.write(
        `merged into run ${id}: ${parts.join("; ")} (${answer.works} new works)\n`,
      );
    });
}
