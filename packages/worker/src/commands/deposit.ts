import { userInfo } from "node:os";
import { createWork, type WorkInput } from "@workflow/work";
import type { Command } from "commander";
import { type ConnectionFlags, clientFrom, workspaceFrom } from "./connection.js";
import { parseParam, readWorks, UsageError } from "./input.js";
import { outputOf, printJson, progress } from "./output.js";
import { collect, integer } from "./parse.js";

/** Works per request. */
export const DEPOSIT_BATCH = 1_000;

interface DepositFlags extends ConnectionFlags {
  file?: string;
  pipeline?: string;
  site?: string;
  user?: string;
  command?: string[];
  function?: string;
  param?: Record<string, unknown>;
  priority?: number;
  tag?: string[];
  event?: number[];
  timeout?: number;
  retries?: number;
  parent?: string;
  product?: string[];
  plot?: string[];
  slackChannel?: string;
  slackMember?: string[];
  slackMessage?: string;
  json?: boolean;
  quiet?: boolean;
}

export function registerDeposit(program: Command): void {
  program
    .command("deposit")
    .description("deposit works, from flags or from a file (JSON, JSON lines, YAML; - for stdin)")
    .option("-f, --file <path>", "works.json, works.jsonl or works.yaml; - reads standard input")
    .option("--pipeline <name>", "the pipeline")
    .option("--site <site>", "where it runs")
    .option("--user <user>", "who deposits (default: the token's user)")
    .option("--command <argv...>", "the command and its arguments (one string runs in a shell)")
    .option("--function <module#export>", "the function to call instead of a command")
    .option("--param <key=value>", "a parameter; the value may be JSON (repeatable)", parseParam)
    .option("--priority <1-5>", "5 runs first", integer)
    .option("--tag <tag>", "a tag (repeatable)", collect)
    .option("--event <id>", "an event id (repeatable)", (v, prev: number[] = []) => [
      ...prev,
      integer(v),
    ])
    .option("--timeout <seconds>", "how long it may run", integer)
    .option("--retries <0-5>", "how many times a failure is re-run", integer)
    .option("--parent <parent>", "config.parent")
    .option("--product <path>", "a data product (repeatable)", collect)
    .option("--plot <path>", "a plot (repeatable)", collect)
    .option("--slack-channel <id>", "Slack channel to tell when it ends")
    .option("--slack-member <id>", "Slack member to tell directly (repeatable)", collect)
    .option("--slack-message <text>", "a message for the Slack post")
    .addHelpText(
      "after",
      `
Examples:
  workflow deposit --pipeline fit --site chime --command python fit.py --event 7 --param snr=12.5
  workflow deposit --file works.jsonl
  seq 100 | jq -c '{pipeline:"fit",site:"chime",user:"alice",command:["fit",(.|tostring)]}' | workflow deposit -f -`,
    )
    .action(async (flags: DepositFlags, command: Command) => {
      const all = { ...command.optsWithGlobals<DepositFlags>(), ...flags };
      const out = outputOf(all);
      const workspace = workspaceFrom(all);
      const client = clientFrom(all);
      const fallbackUser = userFromToken(client.settings.token) ?? userInfo().username;
      const inputs = all.file ? readWorks(all.file) : [fromFlags(all)];
      const works = inputs.map((input, i) => {
        try {
          const withUser = { user: fallbackUser, ...input } as WorkInput;
          return createWork(withUser, {
            ...(workspace ? { workspace } : {}),
            onWarning: (m) => out.quiet || process.stderr.write(`warning: ${m}\n`),
          }).work;
        } catch (error) {
          throw new UsageError(
            `${inputs.length > 1 ? `work ${i + 1}: ` : ""}${(error as Error).message}`,
          );
        }
      });
      const bar = works.length > DEPOSIT_BATCH ? progress(works.length) : undefined;
      const ids: string[] = [];
      for (let at = 0; at < works.length; at += DEPOSIT_BATCH) {
        const batch = works.slice(at, at + DEPOSIT_BATCH);
        ids.push(...(await client.deposit(batch, { returnIds: true })));
        bar?.update(ids.length);
        if (!bar && !out.json && !out.quiet && works.length > DEPOSIT_BATCH) {
          process.stderr.write(`deposited ${ids.length}/${works.length}\n`);
        }
      }
      bar?.end();
      if (out.json) printJson(ids);
      else process.stdout.write(ids.map((id) => `${id}\n`).join(""));
    });
}

function fromFlags(flags: DepositFlags): Record<string, unknown> {
  if (!flags.pipeline && !process.env.WORKFLOW_PIPELINE)
    throw new UsageError("--pipeline is required (or --file)");
  const slack = {
    ...(flags.slackChannel ? { channel_id: flags.slackChannel } : {}),
    ...(flags.slackMember ? { member_ids: flags.slackMember } : {}),
    ...(flags.slackMessage ? { message: flags.slackMessage } : {}),
  };
  return {
    ...(flags.pipeline ? { pipeline: flags.pipeline } : {}),
    ...(flags.site ? { site: flags.site } : {}),
    ...(flags.user ? { user: flags.user } : {}),
    ...(flags.command ? { command: flags.command } : {}),
    ...(flags.function ? { function: flags.function } : {}),
    ...(flags.param ? { parameters: flags.param } : {}),
    ...(flags.priority !== undefined ? { priority: flags.priority } : {}),
    ...(flags.tag ? { tags: flags.tag } : {}),
    ...(flags.event ? { event: flags.event } : {}),
    ...(flags.timeout !== undefined ? { timeout: flags.timeout } : {}),
    ...(flags.retries !== undefined ? { retries: flags.retries } : {}),
    ...(flags.parent ? { config: { parent: flags.parent } } : {}),
    ...(flags.product ? { products: flags.product } : {}),
    ...(flags.plot ? { plots: flags.plot } : {}),
    ...(Object.keys(slack).length > 0 ? { notify: { slack } } : {}),
  };
}

/** The `sub` of a JWT, read without verifying it: only a default for `user`. */
function userFromToken(token: string | undefined): string | undefined {
  const payload = token?.split(".")[1];
  if (!payload) return undefined;
  try {
    const sub = (
      JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { sub?: unknown }
    ).sub;
    return typeof sub === "string" ? sub : undefined;
  } catch {
    return undefined;
  }
}
