#!/usr/bin/env node
import { Command, InvalidArgumentError, Option } from "commander";
import { resolveKeys } from "./auth/keys.js";
import { mintToken, SCOPES, type Scope } from "./auth/tokens.js";
import { readOptions } from "./options.js";
import { startService } from "./server.js";
import { VERSION } from "./version.js";

const program = new Command("buckets")
  .description("The buckets work-queue service")
  .version(VERSION)
  .showHelpAfterError();

program
  .command("serve", { isDefault: true })
  .description("run the service (settings come from the environment; see the README)")
  .addHelpText(
    "after",
    "\nExample:\n  PORT=8004 MONGODB_URI=mongodb://db:27017/buckets buckets serve",
  )
  .action(async () => {
    const service = await startService(readOptions());
    if (service.keys.generated) {
      const token = mintToken(service.keys, { user: "admin", scopes: ["admin"] });
      // Printed like Jupyter's token: the operator's way in on a fresh install.
      process.stdout.write(`\nbuckets is running at ${service.url}\nadmin token: ${token}\n\n`);
    }
    const stop = async (signal: string) => {
      service.ctx.logger.info({ signal }, "shutting down");
      await service.close();
      process.exit(0);
    };
    process.once("SIGTERM", () => void stop("SIGTERM"));
    process.once("SIGINT", () => void stop("SIGINT"));
  });

const collect = (value: string, previous: string[] = []) => [...previous, value];
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
  .option("--expires <duration>", "lifetime such as 30d or 12h (default: none)")
  .addHelpText(
    "after",
    "\nExample:\n  buckets token --user alice --scope work:deposit --scope work:read --expires 30d",
  )
  .action((opts: { user: string; scope: Scope[]; pipeline?: string[]; expires?: string }) => {
    const keys = resolveKeys(readOptions());
    const token = mintToken(keys, {
      user: opts.user,
      scopes: opts.scope,
      ...(opts.pipeline ? { pipelines: opts.pipeline } : {}),
      ...(opts.expires ? { expiresIn: opts.expires } : {}),
    });
    process.stdout.write(`${token}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  process.stderr.write(`buckets: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
