#!/usr/bin/env node
/** The `workflow` command: global flags, and each command registered from ./commands. */

import { readFileSync } from "node:fs";
import { exitQuietlyWhenPipeCloses } from "@workflow/work";
import { Command, CommanderError, Option } from "commander";
import { registerDeposit } from "./commands/deposit.js";
import { registerExpire } from "./commands/expire.js";
import { describeFailure } from "./commands/failure.js";
import { registerLogs } from "./commands/logs.js";
import { registerManage } from "./commands/manage.js";
import { registerPipeline } from "./commands/pipeline.js";
import { registerResults } from "./commands/results.js";
import { registerRetry } from "./commands/retry.js";
import { registerRun } from "./commands/run.js";
import { registerSchedule } from "./commands/schedule.js";
import { registerShow } from "./commands/show.js";
import { registerToken } from "./commands/token.js";
import { registerViews } from "./commands/views.js";
import { registerWorkspace } from "./commands/workspace.js";

const { version } = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
) as { version: string };

const program = new Command("workflow")
  .description("Deposit, watch and run works on a buckets service")
  .version(version)
  .option(
    "--workspace <path>",
    "workspace file (default: $WORKFLOW_WORKSPACE or ~/.config/workflow/workspace.yml)",
  )
  .addOption(
    new Option(
      "--url <url>",
      "the service's URL (repeatable; the first that answers wins)",
    ).argParser((v: string, prev: string[] = []) => [...prev, v]),
  )
  .option(
    "--token <token>",
    "a token (default: $WORKFLOW_HTTP_TOKEN, $WORKFLOW_TOKEN, $GITHUB_TOKEN, $GITHUB_PAT)",
  )
  .option("--json", "print JSON")
  .option("--quiet", "print less")
  .showHelpAfterError("(add --help for usage)")
  .exitOverride();

exitQuietlyWhenPipeCloses();

registerDeposit(program);
registerViews(program);
registerShow(program);
registerLogs(program);
registerManage(program);
registerRetry(program);
registerExpire(program);
registerWorkspace(program);
registerToken(program);
registerRun(program);
registerPipeline(program);
registerSchedule(program);
registerResults(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; usage errors exit 2 (commander already printed the message).
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  const { line, exitCode } = describeFailure(error);
  process.stderr.write(`workflow: ${line}\n`);
  if (exitCode === 2) process.stderr.write("(add --help for usage)\n");
  process.exit(exitCode);
}
