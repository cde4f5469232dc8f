/** `workflow pipeline deploy|undeploy`: a config with `on:` and its schedules. */

import { describeParams, type RunPlan } from "@workflow/work";
import type { Command } from "commander";
import { paramsOf } from "./config-file.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect } from "./parse.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

/**
 * `--at 2027-01-01T09:00`: a time with an offset as it says, one without in this machine's zone
 * (as people type it). Unix seconds.
 */
export function atOf(text: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) {
    throw new UsageError(
      `--at ${text}: not a time; write it as 2027-01-01T09:00 (this machine's time zone) or with an offset, 2027-01-01T09:00+01:00`,
    );
  }
  return ms / 1000;
}

/** Checks a config and its params here, before the service is asked (see pipeline.ts). */
type Check = (
  path: string,
  config: Record<string, unknown>,
  params: Record<string, unknown>,
) => RunPlan;

/** Deploying a config with `on:` (its schedules), and removing it. */
export function registerPipelineDeploy(
  pipeline: Command,
  readConfig: (path: string) => Record<string, unknown>,
  check: Check,
): void {
  pipeline
    .command("deploy")
    .description(
      "deploy a config with on: its cron triggers become schedules (deploying again replaces them)",
    )
    .argument("<file>", "the config, or - for standard input")
    .option(
      "--param <name=value>",
      "a value for ${{ params.name }} in every run its schedules start (repeatable)",
      collect,
    )
    .option(
      "--dry-run",
      "check the deploy on the service as the real one is checked (each schedule, its target, the params), then print the schedules it would make; store nothing",
    )
    .addHelpText(
      "after",
      '\nThe config names its triggers:\n  on:\n    - {cron: "0 2 * * *", timezone: Europe/Berlin}\n    - {manual: true}\n\nExamples:\n  workflow pipeline deploy nightly.yaml --dry-run\n  workflow pipeline deploy nightly.yaml --param threshold=0.5',
    )
    .action(
      async (file: string, opts: { param?: string[]; dryRun?: boolean }, command: Command) => {
        const flags = command.optsWithGlobals<Flags>();
        const config = readConfig(file);
        if (!Array.isArray(config.on)) {
          throw new UsageError(
            `${file}: it has no on: to deploy; name its triggers (on: [{cron: "0 2 * * *"}]) or start it now with workflow pipeline run`,
          );
        }
        const params = paramsOf(opts.param);
        // A bad --param is refused here, before the service is asked.
        const plan = check(file, config, params);
        const deployed = await clientFrom(flags).deployConfig(config, {
          params,
          dryRun: Boolean(opts.dryRun),
        });
        if (outputOf(flags).json) return printJson(deployed);
        if (flags.quiet) return;
        const count = `${deployed.schedules.length} schedules`;
        process.stdout.write(
          deployed.dryRun
            ? `deploy of ${deployed.config} checked: ${count} (dry run: nothing stored)\n`
            : `deployed ${deployed.config}: ${count} (workflow pipeline undeploy ${deployed.config} removes them)\n`,
        );
        const given = describeParams(plan.config.params, plan.params);
        if (given.length > 0) process.stdout.write(`each run's params: ${given.join(", ")}\n`);
        printTable(
          ["SCHEDULE", "CRON", "TIMEZONE", "NEXT"],
          deployed.schedules.map((s) => [
            s.name,
            s.cron,
            s.timezone,
            s.next[0] === undefined ? "-" : new Date(s.next[0] * 1000).toISOString(),
          ]),
        );
      },
    );

  pipeline
    .command("undeploy")
    .description("remove a deployed config: the schedules its on: made")
    .argument("<name>", "the config's name")
    .action(async (name: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      await clientFrom(flags).undeployConfig(name);
      if (!flags.quiet && !outputOf(flags).json) process.stdout.write(`undeployed ${name}\n`);
    });
}
