#!/usr/bin/env node
/**
 * The `buckets` command: serve (settings from the environment, see options.ts), and mint a token
 * with the service's key.
 */

import { exitQuietlyWhenPipeCloses } from "@workflow/work";
import { Command, InvalidArgumentError, Option } from "commander";
import { resolveKeys } from "./auth/keys.js";
import {
  DEFAULT_LIFETIME,
  LIFETIME_HELP,
  LIFETIME_PATTERN,
  mintToken,
  PRINTED_ADMIN_LIFETIME,
  SCOPES,
  type Scope,
} from "./auth/tokens.js";
import { readOptions } from "./options.js";
import { startService } from "./server.js";
import { VERSION } from "./version.js";

exitQuietlyWhenPipeCloses();

const program = new Command("buckets")
  .description("The buckets work-queue service")
  .version(VERSION)
  .showHelpAfterError();

program
  .command("serve", { isDefault: true })
  .description("run the service (settings come from the environment; see the README)")
  .option(
    "--workspace <path>",
    "a workspace file: deposits to sites outside its `sites` are refused (default: $BUCKETS_WORKSPACE; without one, any site is taken)",
  )
  .addHelpText(
    "after",
    "\nExample:\n  PORT=8004 MONGODB_URI=mongodb://db:27017/buckets buckets serve --workspace ./chime.yml",
  )
  .action(async (opts: { workspace?: string }) => {
    const options = readOptions(
      opts.workspace ? { ...process.env, BUCKETS_WORKSPACE: opts.workspace } : process.env,
    );
    const service = await startService(options);
    service.ctx.logger.info(
      { workspace: options.BUCKETS_WORKSPACE ?? null },
      options.BUCKETS_WORKSPACE
        ? "works may run only at the workspace's sites"
        : "no workspace (--workspace or BUCKETS_WORKSPACE): works may name any site",
    );
    if (service.keys.generated) {
      const token = mintToken(service.keys, {
        user: "admin",
        scopes: ["admin"],
        expiresIn: PRINTED_ADMIN_LIFETIME,
      });
      // Printed like Jupyter's token: the operator's way in on a fresh install, for a day, since
      // terminals scroll into logs. Lasting tokens come from `buckets token`.
      process.stdout.write(
        `\nbuckets is running at ${service.url}\nadmin token: ${token}\n(it expires in ${PRINTED_ADMIN_LIFETIME}; \`buckets token\` mints others)\n\n`,
      );
    }
    // Ctrl-C under `npm start` arrives twice (from the terminal and forwarded by npm): the second
    // must not kill a shutdown that is under way (it is bounded by BUCKETS_SHUTDOWN_SECONDS).
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      service.ctx.logger.info({ signal }, "shutting down");
      await service.close();
      process.exit(0);
    };
    process.on("SIGTERM", () => void stop("SIGTERM"));
    process.on("SIGINT", () => void stop("SIGINT"));
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];
const lifetime = (value: string): string => {
  if (!LIFETIME_PATTERN.test(value)) throw new InvalidArgumentError(LIFETIME_HELP);
  return value;
};
const scope = (value: string, previous: Scope[] = []): Scope[] => {
  if (!(SCOPES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`choose from ${SCOPES.join(", ")}`);
  }
  return [...previous, value as Scope];
};

program
  .command("token")
  .description("mint a token with the service's key")
  .requiredOption("--user <user>", "the token's user (its `sub`)")
  .addOption(
    new Option("--scope <scope>", `a scope, repeatable (${SCOPES.join(", ")})`)
      .argParser(scope)
      .makeOptionMandatory(),
  )
  .option("--pipeline <pipeline>", "limit the token to a pipeline, repeatable", collect)
  .option(
    "--data-dir <path>",
    "the service's data directory, whose jwt-secret signs when no key is set (default: $BUCKETS_DATA_DIR or ./.buckets-data, as for serve)",
  )
  .option(
    "--expires <duration>",
    'lifetime such as 30d, 12h, 3600 (seconds), or "never" for a token that never expires',
    lifetime,
    DEFAULT_LIFETIME,
  )
  .addHelpText(
    "after",
    "\nExample:\n  buckets token --user alice --scope work:deposit --scope work:read --expires 30d",
  )
  .action(
    (opts: {
      user: string;
      scope: Scope[];
      pipeline?: string[];
      expires: string;
      dataDir?: string;
    }) => {
      const env = opts.dataDir ? { ...process.env, BUCKETS_DATA_DIR: opts.dataDir } : process.env;
      // Never generates a secret: a token signed with one no service knows is refused.
      const keys = resolveKeys(readOptions(env), { create: false });
      const token = mintToken(keys, {
        user: opts.user,
        scopes: opts.scope,
        ...(opts.pipeline ? { pipelines: opts.pipeline } : {}),
        expiresIn: opts.expires,
      });
      process.stdout.write(`${token}\n`);
    },
  );

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`buckets: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
