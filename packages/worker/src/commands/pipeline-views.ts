/** Run-wide views: every work's logs in order, and each step's outputs. */

import { MAX_VIEW_LIMIT, type StoredWork } from "@workflow/work";
import type { Command } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { formatLine } from "./logs.js";
import { outputOf, printJson } from "./output.js";
import { placeOf } from "./views.js";

interface Flags extends ConnectionFlags {
  json?: boolean;
}

/** Run-wide views: every work's logs in order, and each step's results and products. */
export function registerPipelineViews(pipeline: Command): void {
  pipeline
    .command("logs")
    .description(
      "print the logs of every work of a run, step by step in matrix order, stderr marked",
    )
    .argument("<run>", "the run's id")
    .option("--step <name>", "only this step's works")
    .addHelpText(
      "after",
      "\nExamples:\n  workflow pipeline logs 6650f0c1e4b0a1b2c3d4e5f6\n  workflow pipeline logs 6650f0c1e4b0a1b2c3d4e5f6 --step fit",
    )
    .action(async (id: string, opts: { step?: string }, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const client = clientFrom(flags);
      const run = await client.run(id);
      if (opts.step !== undefined && !run.steps.some((s) => s.name === opts.step)) {
        throw new Error(
          `run ${id} has no step "${opts.step}"; its steps are ${run.steps.map((s) => s.name).join(", ")}`,
        );
      }
      // A run's works name it as their parent, and are stored in step and matrix order.
      const query = { "config.parent": run.id, ...(opts.step ? { step: opts.step } : {}) };
      const projection = { step: true, matrix: true, status: true, attempt: true };
      const order = new Map(run.steps.map((s, i) => [s.name, i]));
      const works: StoredWork[] = [];
      for (;;) {
        const page = await client.view(query, {
          projection,
          skip: works.length,
          limit: MAX_VIEW_LIMIT,
        });
        works.push(...page);
        if (page.length < MAX_VIEW_LIMIT) break;
      }
      works.sort((a, b) => (order.get(a.step ?? "") ?? 0) - (order.get(b.step ?? "") ?? 0));
      for (const work of works) {
        const head = `==> ${placeOf(work)} ${work.id} (${work.status}`;
        if (!work.attempt) {
          if (!flags.json) process.stdout.write(`${head}, not run yet) <==\n`);
          continue;
        }
        if (!flags.json) process.stdout.write(`${head}, attempt ${work.attempt}) <==\n`);
        for await (const page of client.logPages(work.id)) {
          for (const line of page.lines) {
            process.stdout.write(
              flags.json
                ? `${JSON.stringify({ step: work.step, matrix: work.matrix, work: work.id, ...line })}\n`
                : `${formatLine(line)}\n`,
            );
          }
        }
      }
    });

  pipeline
    .command("outputs")
    .description("print each step's results, products and plots, work by work")
    .argument("<run>", "the run's id")
    .option("--step <name>", "only this step")
    .action(async (id: string, opts: { step?: string }, command: Command) => {
      const flags = command.optsWithGlobals<Flags>();
      const outputs = await clientFrom(flags).runOutputs(id, opts.step);
      if (outputOf(flags).json) return printJson(outputs);
      process.stdout.write(`run ${outputs.id}  ${outputs.name}  ${outputs.status}\n`);
      for (const step of outputs.steps) {
        process.stdout.write(`\n${step.name}  ${step.state}  ${step.works.length} works\n`);
        for (const work of step.works) {
          const place = placeOf({
            step: step.name,
            ...(work.matrix ? { matrix: work.matrix } : {}),
          });
          process.stdout.write(`  ${place}  ${work.id}  ${work.status}\n`);
          if (work.results) process.stdout.write(`    results: ${JSON.stringify(work.results)}\n`);
          for (const file of [...(work.products ?? []), ...(work.plots ?? [])]) {
            process.stdout.write(`    ${file}\n`);
          }
        }
      }
    });
}
