import { DURATION_HELP, parseDuration } from "@workflow/work";
import type { Command } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson } from "./output.js";

interface ExpireOptions {
  step?: string;
  key?: string;
  pipeline?: string;
  olderThan?: string;
}

/**
 * `workflow expire`: cache entries stop standing in for new works (Gaia's expire, d6tflow's
 * reset). Nothing else of them changes: they stay successes, with their results.
 */
export function registerExpire(program: Command): void {
  program
    .command("expire")
    .description(
      "make successes unusable for reuse: a run's step (and the steps after it), a key, or a pipeline's older ones",
    )
    .argument("[run]", "the run, with --step")
    .option("--step <name>", "this step of the run, and every step after it")
    .option(
      "--key <key>",
      "every success with this key, and those whose keys were made from it (workflow show WORK prints a work's key)",
    )
    .option("--pipeline <name>", "successes of this pipeline; with --older-than, only older ones")
    .option("--older-than <duration>", "with --pipeline: stopped longer ago than this (7d, 12h)")
    .addHelpText(
      "after",
      "\nExamples:\n  workflow expire --step calibrate 6650f0c1e4b0a1b2c3d4e5f6\n  workflow expire --key k1:3f2a...\n  workflow expire --pipeline fit-spectra --older-than 7d",
    )
    .action(async (run: string | undefined, opts: ExpireOptions, command: Command) => {
      const flags = command.optsWithGlobals<
        ConnectionFlags & { json?: boolean; quiet?: boolean }
      >();
      const request = requestOf(run, opts);
      const answer = await clientFrom(flags).expireCache(request);
      if (outputOf(flags).json) return printJson(answer);
      if (flags.quiet) return;
      process.stdout.write(
        answer.expired === 0
          ? "nothing expired: no usable success matched\n"
          : `expired ${answer.expired} successes${answer.keys ? ` (${answer.keys} keys)` : ""}: works with their keys run again\n`,
      );
    });
}

function requestOf(run: string | undefined, opts: ExpireOptions) {
  const given = [opts.step !== undefined || run !== undefined, opts.key, opts.pipeline].filter(
    Boolean,
  ).length;
  if (given !== 1) {
    throw new UsageError("give one of: --step STEP RUN, --key KEY, or --pipeline P --older-than D");
  }
  if (opts.key !== undefined) return { key: opts.key };
  if (opts.pipeline !== undefined) {
    if (opts.olderThan === undefined) return { pipeline: opts.pipeline };
    if (parseDuration(opts.olderThan) === undefined) {
      throw new UsageError(`--older-than ${opts.olderThan}: ${DURATION_HELP}`);
    }
    return { pipeline: opts.pipeline, olderThan: opts.olderThan };
  }
  if (run === undefined || opts.step === undefined) {
    throw new UsageError("--step goes with a run: workflow expire --step STEP RUN");
  }
  return { run, step: opts.step };
}
