#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { registerRun } from "./commands/run.js";

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

registerRun(program);

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Help and version exit 0; usage errors exit 2 (commander already printed the message).
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`workflow: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
