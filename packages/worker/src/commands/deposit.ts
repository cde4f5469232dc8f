/** `workflow deposit`: works from a file or flags, checked here, then deposited in batches. */

import { userInfo } from "node:os";
import { createWork, DEPOSIT_BATCH, type Work, type WorkInput } from "@workflow/work";
import type { Command } from "commander";
import { depositInBatches } from "./batches.js";
import { type ConnectionFlags, clientFrom, workspaceFrom } from "./connection.js";
import { contentIds, randomIds } from "./ids.js";
import { parseParam, readWorks, UsageError } from "./input.js";
import { outputOf } from "./output.js";
import { collect, integer } from "./parse.js";
import { parseAt, parseIn } from "./when.js";

interface DepositFlags extends ConnectionFlags {
  file?: string;
  again?: boolean;
  pipeline?: string;
  site?: string;
  user?: string;
  command?: string;
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
  at?: number;
  in?: number;
  json?: boolean;
  quiet?: boolean;
  static?: boolean;
  cache?: string | boolean;
  codeVersion?: string;
}

export function registerDeposit(program: Command): void {
  program
    .command("deposit")
    .description("deposit works, from flags or from a file (JSON, JSON lines, YAML; - for stdin)")
    .argument("[argv...]", "after --: the command and its arguments, passed as they are")
    .option("-f, --file <path>", "works.json, works.jsonl or works.yaml; - reads standard input")
    .option("--again", "deposit a file's works again, as new works (see below)")
    .option("--pipeline <name>", "the pipeline")
    .option("--site <site>", "where it runs")
    .option("--user <user>", "who deposits (default: the token's user)")
    .option("--command <string>", "a command line run by a shell (or give argv after --)")
    .option("--function <module#export>", "the function to call instead of a command")
    .option(
      "--static",
      "the works name no function or command: the workers supply one (workflow run --function/--command)",
    )
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
    .option(
      "--at <time>",
      "not run before this time (ISO 8601 with zone: 2026-12-01T02:00Z)",
      parseAt,
    )
    .option("--in <duration>", "not run before this long from now (90s, 10m, 2h, 1d)", parseIn)
    .option(
      "--cache [ttl]",
      "answer it from an earlier success with the same key, no older than ttl (30d) if given, without running",
    )
    .option(
      "--code-version <version>",
      "what its code is at (a git sha, an image digest): part of its key",
    )
    .addHelpText(
      "after",
      `
Everything after -- is the command's argv, dashes included; the options before it are deposit's.

Ids go to standard output as each batch is stored, progress to standard error. The works of a file
get ids made from their content, so depositing the same file again stores only what is missing
(after Ctrl-C, say); --again deposits them once more as new works.

Examples:
  workflow deposit --pipeline fit --site chime --event 7 --param snr=12.5 -- python fit.py --event 7
  workflow deposit --pipeline fit --site chime --command 'python fit.py > fit.log'
  workflow deposit --file works.jsonl
  workflow deposit --pipeline fit --site chime --in 10m -- python fit.py
  workflow deposit --pipeline fit --site chime --cache 30d --param snr=12 -- python fit.py
  seq 100 | jq -c '{pipeline:"fit",site:"chime",command:["fit",(.|tostring)]}' | workflow deposit -f -`,
    )
    .action(async (argv: string[], flags: DepositFlags, command: Command) => {
      const all = { ...command.optsWithGlobals<DepositFlags>(), ...flags };
      checkArgv(argv, all);
      const out = outputOf(all);
      const workspace = workspaceFrom(all);
      // No quiet retries: depositInBatches retries itself, and says so.
      const client = clientFrom(all, undefined, { budgetMs: 0 });
      const fallbackUser = userFromToken(client.settings.token) ?? userInfo().username;
      const inputs = all.file ? readWorks(all.file) : [fromFlags(all, argv)];
      if (all.at !== undefined && all.in !== undefined) {
        throw new UsageError("give --at or --in, not both");
      }
      const notBefore = all.at ?? (all.in === undefined ? undefined : Date.now() / 1000 + all.in);
      const check = (input: Record<string, unknown>, i: number): Work => {
        try {
          const withUser = {
            user: fallbackUser,
            ...keyFlags(all),
            ...input,
            ...(notBefore === undefined ? {} : { notBefore }),
          } as WorkInput;
          return createWork(withUser, {
            ...(workspace ? { workspace } : {}),
            onWarning: (m) => out.quiet || process.stderr.write(`warning: ${m}\n`),
          }).work;
        } catch (error) {
          throw new UsageError(
            `${inputs.length > 1 ? `work ${i + 1}: ` : ""}${(error as Error).message}`,
          );
        }
      };
      const fromFile = all.file !== undefined && !all.again;
      const { works, ids } = await beforeStoring(inputs.length, async (checked) => {
        if (inputs.length > DEPOSIT_BATCH && !out.quiet)
          process.stderr.write(`checking ${inputs.length} works before storing any\n`);
        const works = await sliced(inputs, check, checked);
        return { works, ids: fromFile ? contentIds(works) : randomIds(works) };
      });
      // depositInBatches answers a Ctrl-C from here on.
      await depositInBatches(client, works, ids, {
        ...out,
        skipStored: fromFile,
        static: all.static ?? false,
      });
    });
}

/** --cache and --code-version, for every work that does not say its own. */
function keyFlags(flags: DepositFlags): Record<string, unknown> {
  return {
    ...(flags.cache === undefined
      ? {}
      : { cache: flags.cache === true ? true : { ttl: flags.cache } }),
    ...(flags.codeVersion ? { version: flags.codeVersion } : {}),
  };
}

/** Works checked between two looks at the event loop, where a Ctrl-C is heard. */
const CHECK_SLICE = 500;

/**
 * Runs what comes before the first batch is sent, answering a Ctrl-C meanwhile with what it
 * means: nothing is stored before all works are checked.
 */
async function beforeStoring<T>(
  total: number,
  prepare: (checked: (count: number) => void) => Promise<T>,
): Promise<T> {
  let done = 0;
  const interrupt = () => {
    process.stderr.write(
      `\ninterrupted while checking: ${done} of ${total} works checked, none deposited (nothing is stored before all are checked); run the same command again to deposit them\n`,
    );
    process.exit(130);
  };
  process.once("SIGINT", interrupt);
  try {
    return await prepare((count) => {
      done = count;
    });
  } finally {
    process.off("SIGINT", interrupt);
  }
}

/** Maps `inputs` a slice at a time, giving the event loop (and a Ctrl-C) its turn between. */
async function sliced<I, O>(
  inputs: I[],
  map: (input: I, i: number) => O,
  progress: (count: number) => void,
): Promise<O[]> {
  const out: O[] = [];
  for (let i = 0; i < inputs.length; i++) {
    if (i > 0 && i % CHECK_SLICE === 0) {
      progress(i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    out.push(map(inputs[i] as I, i));
  }
  progress(inputs.length);
  return out;
}

/** Operands are only a command's argv after `--`: a stray word would otherwise join the command. */
function checkArgv(argv: string[], flags: DepositFlags): void {
  if (argv.length === 0) return;
  // Commander drops the `--` itself; the command line still has it.
  const raw = process.argv;
  const dashes = raw.indexOf("--");
  const afterDashes = dashes === -1 ? 0 : raw.length - dashes - 1;
  const example = `workflow deposit --pipeline ... -- ${argv.join(" ")}`;
  if (afterDashes < argv.length && flags.command !== undefined) {
    const line = [flags.command, ...argv].join(" ");
    throw new UsageError(
      `--command takes one string: quote it (--command '${line}'), or give the argv after -- (-- ${line})`,
    );
  }
  if (afterDashes < argv.length) {
    throw new UsageError(
      `unexpected ${JSON.stringify(argv[0])}: put the command after --, as in: ${example}`,
    );
  }
  if (flags.command !== undefined) {
    throw new UsageError(
      "give the command once: --command 'one shell line', or its argv after --, not both",
    );
  }
  if (flags.file !== undefined) {
    throw new UsageError("--file takes each work's command from the file, not after --");
  }
}

function fromFlags(flags: DepositFlags, argv: string[]): Record<string, unknown> {
  if (!flags.pipeline && !process.env.WORKFLOW_PIPELINE)
    throw new UsageError("--pipeline is required (or --file)");
  const slack = {
    ...(flags.slackChannel ? { channel_id: flags.slackChannel } : {}),
    ...(flags.slackMember ? { member_ids: flags.slackMember } : {}),
    ...(flags.slackMessage ? { message: flags.slackMessage } : {}),
  };
  const commandLine = argv.length > 0 ? argv : flags.command ? [flags.command] : undefined;
  return {
    ...(flags.pipeline ? { pipeline: flags.pipeline } : {}),
    ...(flags.site ? { site: flags.site } : {}),
    ...(flags.user ? { user: flags.user } : {}),
    ...(commandLine ? { command: commandLine } : {}),
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
