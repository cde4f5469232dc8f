/**
 * `workflow pipeline run|ls|ps|cancel|rerun`: a config is checked here before the service sees it.
 */

import {
  BucketsError,
  PipelineConfigError,
  planRun,
  type RunPlan,
  type RunSummary,
  releaseTime,
} from "@workflow/work";
import type { Command } from "commander";
import { paramsOf, readConfigFile } from "./config-file.js";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { UsageError } from "./input.js";
import { outputOf, printJson, printTable } from "./output.js";
import { collect, integer } from "./parse.js";
import { atOf, registerPipelineDeploy } from "./pipeline-deploy.js";
import { dryRunJson, marksOf, printPlan } from "./pipeline-dry-run.js";
import { registerPipelineViews } from "./pipeline-views.js";
import { registerRunControl, runHeadline } from "./run-control.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
  quiet?: boolean;
}

function readConfig(path: string): Record<string, unknown> {
  const { parsed } = readConfigFile(path);
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new UsageError(`${path}: a pipeline config is a mapping with version, name and pipeline`);
  }
  return parsed as Record<string, unknown>;
}

/**
 * Checks the config here first: its errors need no service. `user` stands in for the token's
 * subject, the default user the service gives a run.
 */
function check(
  path: string,
  config: Record<string, unknown>,
  params: Record<string, unknown>,
  at?: number,
  user = "(you)",
): RunPlan {
  const defaults = { user, ...(config.defaults as object | undefined) };
  try {
    return planRun({ ...config, defaults }, params, at);
  } catch (error) {
    if (error instanceof PipelineConfigError) throw new UsageError(`${path}: ${error.message}`);
    throw error;
  }
}

function printRun(run: RunSummary): void {
  process.stdout.write(runHeadline(run));
  const children = new Map<string, string[]>();
  for (const step of run.steps)
    for (const need of step.needs) children.set(need, [...(children.get(need) ?? []), step.name]);
  const byName = new Map(run.steps.map((s) => [s.name, s]));
  const shown = new Set<string>();
  const line = (name: string, depth: number) => {
    const step = byName.get(name);
    if (!step) return;
    const counts = Object.entries(step.counts ?? {})
      .map(([s, n]) => `${s} ${n}`)
      .join(", ");
    const cached = step.cached ? ` (cached ${step.cached})` : "";
    const again = shown.has(name) ? " (above)" : "";
    // A step made from results says so until it is made, then how many works it made.
    const grows = !step.grows
      ? ""
      : step.grown
        ? `  (${step.works} works, made at run time)`
        : `  ${step.grows}`;
    process.stdout.write(
      `${"  ".repeat(depth + 1)}${depth > 0 ? "└ " : ""}${name}  ${step.state}  ${counts}${cached}${grows}${again}\n`,
    );
    if (again) return;
    shown.add(name);
    for (const child of children.get(name) ?? []) line(child, depth + 1);
  };
  for (const step of run.steps.filter((s) => s.needs.length === 0)) line(step.name, 0);
  for (const event of run.events ?? []) {
    const when = new Date(event.at * 1000).toISOString();
    process.stdout.write(
      `${when}  ${event.kind}${event.step ? ` ${event.step}` : ""}${event.detail ? ` (${event.detail})` : ""}\n`,
    );
  }
}

export function registerPipeline(program: Command): void {
  const pipeline = program
    .command("pipeline")
    .description("run pipeline configs: steps with needs, matrices and results passed on");

  pipeline
    .command("run")
    .description("start a run of a pipeline config (YAML or JSON)")
    .argument("<file>", "the config, or - for standard input")
    .option("--param <name=value>", "a value for ${{ params.name }} (repeatable)", collect)
    .option("--at <time>", "release the run at this time (2027-01-01T09:00), not now")
    .option(
      "--dry-run",
      "check the run on the service as the real run is checked (user, pipelines, sites, callback), then print the steps and every work it would create, each cached (from ID) or will run; deposit nothing",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  workflow pipeline run pipeline.yaml --dry-run\n  workflow pipeline run pipeline.yaml --param threshold=0.5",
    )
    .action(
      async (
        file: string,
        opts: { param?: string[]; dryRun?: boolean; at?: string },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<Flags>();
        const config = readConfig(file);
        const params = paramsOf(opts.param);
        const at = opts.at === undefined ? undefined : atOf(opts.at);
        const local = check(file, config, params, at);
        // The service checks what only it knows (this token's user and pipelines, its sites).
        const checked = opts.dryRun ? await clientFrom(flags).checkRun(config, params) : undefined;
        const plan = checked ? check(file, config, params, at, checked.user) : local;
        if (opts.dryRun) {
          const marks = await marksOf(flags, config, params);
          if (outputOf(flags).json) return printJson(dryRunJson(plan, marks, at));
          return printPlan(plan, marks, at);
        }
        const { id, works } = await clientFrom(flags).startRun(
          config,
          params,
          at === undefined ? {} : { at },
        );
        if (outputOf(flags).json) return printJson({ id, works });
        if (flags.quiet) process.stdout.write(`${id}\n`);
        else
          process.stdout.write(
            `started run ${id}: ${works.length} works${at === undefined ? "" : `, released at ${releaseTime(at)}`}\nfollow it: workflow pipeline ps ${id}\n`,
          );
      },
    );

  pipeline
    .command("ls")
    .description("list runs, newest first")
    .option("--name <name>", "runs of this config")
    .option("--status <status>", "running, success, failure, cancelled or timedout")
    .option("--limit <n>", "at most this many", integer, 50)
    .action(async (opts: { name?: string; status?: string; limit: number }, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const runs = await clientFrom(flags).runs(opts);
      if (outputOf(flags).json) return printJson(runs);
      printTable(
        ["RUN", "NAME", "STATUS", "STEPS", "CREATED"],
        runs.map((r) => [
          r.id,
          r.name,
          r.status,
          r.steps.length,
          new Date(r.created * 1000).toISOString(),
        ]),
      );
    });

  pipeline
    .command("ps")
    .description("a run's steps as a tree, with their states and counts, then its events")
    .argument("<run>", "the run's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const run = await clientFrom(flags).run(id);
      if (outputOf(flags).json) return printJson(run);
      printRun(run);
    });

  pipeline
    .command("cancel")
    .description("cancel a run: nothing of it runs any more")
    .argument("<run>", "the run's id")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const answer = await clientFrom(flags).cancelRun(id);
      if (outputOf(flags).json) return printJson(answer);
      if (!flags.quiet) process.stdout.write(`cancelled run ${id} (${answer.cancelled} works)\n`);
    });

  registerRunControl(pipeline);
  registerPipelineViews(pipeline);
  registerPipelineDeploy(pipeline, readConfig, check);

  program
    .command("rerun")
    .description(
      "re-run a run's works (or one work) with fresh retries, and with --downstream all that depends on them",
    )
    .argument("<id>", "a run, or one work of a run")
    .option("--step <name>", "only this step (repeatable)", collect)
    .option("--downstream", "and every step after them")
    .option("--failed", "only works that failed")
    .option(
      "--unfinished",
      "every work that did not succeed: carries on a cancelled or timed-out run",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  workflow rerun 6650f0c1e4b0a1b2c3d4e5f6 --step fit --downstream\n  workflow rerun 6650f0c1e4b0a1b2c3d4e5f6 --failed",
    )
    .action(
      async (
        id: string,
        opts: { step?: string[]; downstream?: boolean; failed?: boolean; unfinished?: boolean },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<Flags>();
        const client = clientFrom(flags);
        let run = id;
        let work: string | undefined;
        let cutShort = false;
        try {
          const { status } = await client.run(id);
          cutShort = status === "cancelled" || status === "timedout";
        } catch (error) {
          if (!(error instanceof BucketsError && error.is("not_found"))) throw error;
          // Not a run: a work of one, which names its run as its parent.
          const [found] = await client.view({ id });
          if (!found) throw new UsageError(`${id} is neither a run nor a work`);
          if (!found.config.parent) {
            throw new UsageError(
              `work ${id} is not part of a pipeline run: \`workflow retry ${id}\` queues it again`,
            );
          }
          run = found.config.parent;
          work = id;
        }
        const answer = await client.rerun(run, {
          ...(opts.step ? { steps: opts.step } : {}),
          ...(work ? { work } : {}),
          downstream: Boolean(opts.downstream),
          failedOnly: Boolean(opts.failed),
          unfinishedOnly: Boolean(opts.unfinished),
        });
        if (outputOf(flags).json) return printJson(answer);
        if (flags.quiet) return;
        if (answer.works === 0) {
          process.stdout.write(
            opts.failed
              ? `nothing to rerun: no step failed in run ${run}\n${cutShort ? `to carry on with what did not succeed: workflow rerun ${run} --unfinished\n` : ""}`
              : `nothing to rerun in run ${run}\n`,
          );
        } else {
          process.stdout.write(
            `rerun of run ${run}: ${answer.works} works (steps ${answer.steps.join(", ")})\n`,
          );
        }
      },
    );
}
