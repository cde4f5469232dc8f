import { basename } from "node:path";

/** `{{name}}`, with optional spaces inside the braces. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;

/** Programs that run their `-c` argument as a shell script. */
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "busybox"]);

/** Shell options that take the next item as their argument (`-o pipefail`, `-O extglob`). */
const SHELL_OPTIONS_WITH_ARGUMENT = new Set(["-o", "+o", "-O", "+O", "--rcfile", "--init-file"]);

/** Interpreters whose flag names inline code: a value put there would be that language's code. */
const INLINE_CODE: [RegExp, Set<string>][] = [
  [/^python[\d.]*$/, new Set(["-c"])],
  [/^(node|nodejs|bun|deno)$/, new Set(["-e", "--eval", "-p", "--print"])],
  [/^perl[\d.]*$/, new Set(["-e", "-E"])],
  [/^ruby$/, new Set(["-e"])],
  [/^(R|Rscript)$/, new Set(["-e"])],
  [/^julia$/, new Set(["-e", "--eval"])],
  [/^php$/, new Set(["-r"])],
];

/** A command whose placeholders cannot be filled safely; the message says how to fix it. */
export class PlaceholderError extends Error {}

/**
 * The argv to run, with each `{{name}}` taken from the parameters' own keys.
 *
 * - Several items run without a shell, and a placeholder is filled in place: a value never becomes
 *   more than the item it sits in.
 * - A shell script (the one-string form, run with `sh -c`, or the item after `-c` of a shell in the
 *   argv form) never gets a value spliced into its text: each placeholder becomes a positional
 *   parameter (`"${1}"`...) and the value is passed after the script, so the shell reads it as data.
 * - A placeholder inside another interpreter's inline code (`python -c`, `node -e`...) is refused.
 */
export function toArgv(command: string[], parameters: Record<string, unknown> = {}): string[] {
  const text = (name: string): string => {
    // Own keys only: `{{toString}}` must not find Object.prototype's.
    if (!Object.hasOwn(parameters, name))
      throw new PlaceholderError(`command uses {{${name}}} but parameters has no "${name}"`);
    const value = parameters[name];
    return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  };
  const fill = (item: string) => item.replace(PLACEHOLDER, (_m, name: string) => text(name));

  if (command.length === 1) {
    const values: string[] = [];
    const script = toScript(command[0] as string, 1, (name) => values.push(text(name)));
    return ["/bin/sh", "-c", script, "sh", ...values];
  }
  refuseInlineCode(command);
  const found = shellScript(command);
  if (!found) return command.map(fill);
  const { at, shell } = found;
  // After the script come $0, $1...: the values follow whatever the command already passes.
  const after = command.slice(at + 1).map(fill);
  const name = after.length > 0 ? [] : [shell];
  const values: string[] = [];
  const first = Math.max(1, after.length);
  const script = toScript(command[at] as string, first, (n) => values.push(text(n)));
  return [...command.slice(0, at).map(fill), script, ...after, ...name, ...values];
}

/**
 * Rewrites a shell script so that its placeholders read positional parameters from `first` on,
 * quoted for where they stand: `"${1}"` outside quotes, `${1}` inside double quotes. Inside single
 * quotes the shell expands nothing, so a placeholder there is refused rather than spliced in.
 */
function toScript(script: string, first: number, take: (name: string) => void): string {
  let out = "";
  let quote: "" | "'" | '"' = "";
  let index = first;
  for (let i = 0; i < script.length; ) {
    PLACEHOLDER.lastIndex = i;
    const match = script.startsWith("{{", i) ? PLACEHOLDER.exec(script) : null;
    if (match && match.index === i) {
      const name = match[1] as string;
      if (quote === "'")
        throw new PlaceholderError(
          `{{${name}}} sits inside single quotes in a shell script, where its value cannot be passed as data: remove the quotes around it (the value arrives as one word either way)`,
        );
      take(name);
      out += quote === '"' ? `\${${index}}` : `"\${${index}}"`;
      index++;
      i += match[0].length;
      continue;
    }
    const c = script[i] as string;
    if (c === "\\" && quote !== "'") {
      out += script.slice(i, i + 2);
      i += 2;
      continue;
    }
    if (quote === "" && (c === "'" || c === '"')) quote = c;
    else if (quote !== "" && c === quote) quote = "";
    out += c;
    i++;
  }
  return out;
}

/**
 * Where the argv form hands a script to a shell: the first item after `<shell> ... -c` that is not
 * an option (`bash -c`, `bash -lc`, `env X=1 sh -euc`, `docker exec box sh -c`).
 */
function shellScript(command: string[]): { at: number; shell: string } | undefined {
  const shell = command.findIndex((item) => SHELLS.has(basename(item)));
  if (shell < 0) return undefined;
  const name = basename(command[shell] as string);
  let i = shell + 1;
  if (name === "busybox") {
    if (!SHELLS.has(command[i] ?? "")) return undefined;
    i++;
  }
  let script = false;
  for (; i < command.length; i++) {
    const item = command[i] as string;
    if (item === "--" || item === "-") {
      i++;
      break;
    }
    if (SHELL_OPTIONS_WITH_ARGUMENT.has(item)) i++;
    else if (/^[-+][A-Za-z]+$/.test(item)) script ||= item.startsWith("-") && item.includes("c");
    else if (!item.startsWith("--")) break;
  }
  return script && i < command.length ? { at: i, shell: name } : undefined;
}

function refuseInlineCode(command: string[]): void {
  for (const [program, flags] of INLINE_CODE) {
    const at = command.findIndex((item) => program.test(basename(item)));
    if (at < 0) continue;
    for (let i = at + 1; i < command.length - 1; i++) {
      const code = command[i + 1] as string;
      if (flags.has(command[i] as string) && new RegExp(PLACEHOLDER.source).test(code))
        throw new PlaceholderError(
          `a placeholder inside ${basename(command[at] as string)} ${command[i]} would make its value code: pass it as an argument after the code instead (for instance sys.argv[1] or process.argv[1])`,
        );
    }
  }
}
