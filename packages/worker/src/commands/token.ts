import { SCOPES, type Scope, ScopeSchema } from "@workflow/work";
import { type Command, InvalidArgumentError } from "commander";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { printJson } from "./output.js";
import { collect } from "./parse.js";

export function registerToken(program: Command): void {
  program
    .command("token")
    .description("mint a token with the service's key (needs an admin token)")
    .requiredOption("--user <user>", "the token's user")
    .requiredOption(
      "--scope <scope>",
      `a scope, repeatable (${SCOPES.join(", ")})`,
      (v: string, prev: Scope[] = []) => {
        const scope = ScopeSchema.safeParse(v);
        if (!scope.success) throw new InvalidArgumentError(`choose from ${SCOPES.join(", ")}`);
        return [...prev, scope.data];
      },
    )
    .option("--pipeline <name>", "limit the token to a pipeline (repeatable)", collect)
    .option(
      "--expires <duration>",
      'lifetime such as 30d, 12h or "never" (default: 30d, and never past your own token\'s)',
    )
    .addHelpText(
      "after",
      "\nExample:\n  workflow token --user alice --scope work:deposit --scope work:read --expires 30d",
    )
    .action(
      async (
        opts: { user: string; scope: Scope[]; pipeline?: string[]; expires?: string },
        command: Command,
      ) => {
        const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
        const { token } = await clientFrom(flags).mintToken({
          user: opts.user,
          scopes: opts.scope,
          ...(opts.pipeline ? { pipelines: opts.pipeline } : {}),
          ...(opts.expires ? { expiresIn: opts.expires } : {}),
        });
        if (flags.json) printJson({ token });
        else process.stdout.write(`${token}\n`);
      },
    );
}
