/** `workflow workspace`: show or set the workspace file. */

import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { DEFAULT_WORKSPACE_PATH, loadWorkspace, workspacePath } from "@workflow/work";
import type { Command } from "commander";
import type { ConnectionFlags } from "./connection.js";
import { printJson } from "./output.js";

export function registerWorkspace(program: Command): void {
  const workspace = program.command("workspace").description("show or set the workspace file");
  workspace
    .command("show")
    .description("print the workspace in use, after checking it")
    .addHelpText("after", "\nExample:\n  workflow workspace show --json")
    .action((_opts: object, command: Command) => {
      const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
      const path = workspacePath(flags.workspace);
      const parsed = loadWorkspace(path);
      if (flags.json) return printJson({ path, workspace: parsed });
      process.stdout.write(`# ${path}\n${readFileSync(path, "utf8")}`);
    });
  workspace
    .command("set")
    .description(`check a workspace file and install it as ${DEFAULT_WORKSPACE_PATH}`)
    .argument("<path>", "the workspace file")
    .addHelpText("after", "\nExample:\n  workflow workspace set ./chime.yml")
    .action((path: string) => {
      const target = workspacePath(undefined, {});
      loadWorkspace(path);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(path, target);
      process.stdout.write(`workspace set: ${target}\n`);
    });
}
