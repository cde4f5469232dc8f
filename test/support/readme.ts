import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./processes.js";

/**
 * The READMEs' examples as tests read them: fenced blocks with their file, `## ` section and line,
 * and a bash to run a shell block in as a reader would, from the repository's root.
 */

export interface Block {
  /** The README's path from the repository's root. */
  file: string;
  /** Its `## ` heading ("" before the first). */
  section: string;
  line: number;
  language: string;
  text: string;
}

/** Every fenced block of a README, in order. */
export function readmeBlocks(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), "utf8").split("\n");
  const blocks: Block[] = [];
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.startsWith("## ")) section = line.slice(3).trim();
    const fence = /^```(\w*)$/.exec(line);
    if (!fence) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`${file}:${i + 1}: a fence that never closes`);
    const text = lines.slice(i + 1, end).join("\n");
    blocks.push({ file, section, line: i + 1, language: fence[1] as string, text: `${text}\n` });
    i = end;
  }
  return blocks;
}

export interface ShellOptions {
  env: Record<string, string>;
  /** Where the block's process group is noted: a block may leave a worker running. */
  groups: number[];
  /**
   * A file of the variables earlier blocks set (`declare -p`): sourced first and added to after,
   * so the blocks of one session share them, as one terminal would.
   */
  session?: string;
}

/** Bash's own variables: never carried from one block to the next. */
const BASH_OWN =
  "__*|BASH*|FUNCNAME|PIPESTATUS|_|OPTIND|OPTARG|COLUMNS|LINES|SHLVL|PWD|OLDPWD|RANDOM|SRANDOM|SECONDS|LINENO|EPOCH*|HISTCMD|COMP*|DIRSTACK|GROUPS|HOSTNAME|HOSTTYPE|IFS|MACHTYPE|OSTYPE|PS4|PPID|UID|EUID|SHELLOPTS";

/**
 * Sources the session, and on exit writes back every variable of the shell but bash's own and
 * read-only ones: the earlier blocks', and this one's, new or changed (the exit status stays the
 * block's).
 */
function sessionPrologue(session: string): string {
  const file = JSON.stringify(session);
  return [
    `source ${file}`,
    "__save() {",
    "  local __status=$?",
    "  set +eu",
    "  for __v in $(compgen -v); do",
    `    case "$__v" in ${BASH_OWN}) continue ;; esac`,
    '    __d=$(declare -p "$__v" 2>/dev/null) || continue',
    "    [[ $__d =~ ^declare\\ -[a-zA-Z]*r ]] && continue",
    `    printf '%s\\n' "$__d"`,
    `  done > ${file}.next`,
    `  mv ${file}.next ${file}`,
    "  return $__status",
    "}",
    "trap __save EXIT",
  ].join("\n");
}

/** Runs a shell block in bash (`-euo pipefail`) from the repository's root. */
export async function runShell(
  text: string,
  { env, groups, session }: ShellOptions,
): Promise<{ code: number | null; output: string }> {
  const script = session ? `${sessionPrologue(session)}\n${text}` : text;
  const child = spawn("bash", ["-euo", "pipefail", "-c", script], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  groups.push(child.pid as number);
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}

/** Ends the process groups shell blocks started (their workers among them). */
export function endGroups(groups: number[]): void {
  for (const group of groups.splice(0)) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // gone
    }
  }
}
