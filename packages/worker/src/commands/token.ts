/** `workflow token`: tokens minted by the service, and what it decided about them. */

import { SCOPES, type Scope, ScopeSchema, spokenDuration } from "@workflow/work";
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
        const client = clientFrom(flags);
        const { token } = await client.mintToken({
          user: opts.user,
          scopes: opts.scope,
          ...(opts.pipeline ? { pipelines: opts.pipeline } : {}),
          ...(opts.expires ? { expiresIn: opts.expires } : {}),
        });
        if (flags.json) printJson({ token });
        else process.stdout.write(`${token}\n`);
        // Unasked, the service cuts the default lifetime to what is left of the minting token's.
        const minted = expiryOf(token);
        const own = expiryOf(client.settings.token ?? "");
        if (
          !opts.expires &&
          minted !== undefined &&
          own !== undefined &&
          own - minted < CUT_SLACK
        ) {
          const left = Math.max(0, minted - Math.floor(Date.now() / 1000));
          process.stderr.write(
            `workflow: this token expires with yours, at ${new Date(minted * 1000).toISOString()} (in ${spokenDuration(left)}), short of the default lifetime: a token may not outlive the one that mints it\n`,
          );
        }
      },
    );
}

/** Seconds between the maker's expiry and one cut to it: the mint's own delay, rounded down. */
const CUT_SLACK = 60;

/** A JWT's `exp`, read without verifying: only to tell the user what the service decided. */
function expiryOf(token: string): number | undefined {
  try {
    const payload = JSON.parse(
      Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"),
    );
    return typeof payload.exp === "number" ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}
