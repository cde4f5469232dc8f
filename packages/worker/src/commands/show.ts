import type { Command } from "commander";
import { stringify } from "yaml";
import { type ConnectionFlags, clientFrom } from "./connection.js";
import { duration } from "./describe.js";
import { printJson } from "./output.js";

export function registerShow(program: Command): void {
  program
    .command("show")
    .description("show one work in full: its command, parameters, outcome and history")
    .argument("<id>", "the work's id (from deposit or ps)")
    .addHelpText("after", "\nExample:\n  workflow show 6650f0c1e4b0a1b2c3d4e5f6 --json")
    .action(async (id: string, _opts: object, command: Command) => {
      const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
      const [work] = await clientFrom(flags).view({ id }, { limit: 1 });
      if (!work) throw new Error(`no work ${id} (or not one this token may read)`);
      if (flags.json) return printJson(work);
      const took = duration(work);
      process.stdout.write(stringify(took ? { ...work, duration: took } : work));
    });
}
