/**
 * Where a command's `{{name}}` placeholders may stand, and how they are filled. One rule, used by
 * the service when a work is deposited and by the worker before it runs one.
 *
 * It is an allow-list: a value may become only
 * - a whole argv item (`["fit", "--input", "{{file}}"]`), or
 * - a whole word of a shell script (the one-string form, run with `sh -c`, or the item after
 *   `-c` of sh, bash, dash, zsh, ksh, mksh, ash, yash or busybox sh): `{{file}}` or `"{{file}}"`
 *   standing alone, which the worker turns into a quoted positional parameter (`"${1}"`) with the
 *   value passed after the script, so the shell reads it as data and hands it on as one argument.
 * Anywhere else, a value would be spliced into a larger string that some program reads, and that
 * program may read it as code (`python3 -c "print({{x}})"`, `perl -le`, `fish -c`, `--opt={{x}}`
 * inside `sh -c "python3 -c ..."`): those commands are refused, whatever the program.
 */

import { basename } from "node:path";

/** `{{name}}`, with optional spaces inside the braces. */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][\w-]*)\s*\}\}/g;
/** An item that is one placeholder and nothing else. */
const WHOLE = /^\{\{\s*([A-Za-z_][\w-]*)\s*\}\}$/;
/** What ends a word in a shell script, outside quotes. */
const WORD_END = /[\s;&|()<>`]/;

/** Programs that run their `-c` argument as a shell script whose words the worker can quote. */
const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "yash", "busybox"]);

/** Shell options that take the next item as their argument (`-o pipefail`, `-O extglob`). */
const SHELL_OPTIONS_WITH_ARGUMENT = new Set(["-o", "+o", "-O", "+O", "--rcfile", "--init-file"]);

const HOW =
  'a value may fill only a whole command item ("{{name}}" alone) or a whole word of a sh/bash script; pass it as an argument of its own and read it there (sys.argv[1], process.argv[1], "$1")';

/** A command whose placeholders cannot be filled safely: `item` is the index of the culprit. */
export class PlaceholderError extends Error {
  constructor(
    message: string,
    readonly item: number,
  ) {
    super(message);
  }
}

/** Why the command's placeholders would not be data (naming the item), or undefined if they are. */
export function placeholderProblem(
  command: readonly string[],
): { item: number; message: string } | undefined {
  try {
    shape(command);
    return undefined;
  } catch (error) {
    if (error instanceof PlaceholderError) return { item: error.item, message: error.message };
    throw error;
  }
}

/**
 * The argv to run, with each `{{name}}` taken from the parameters' own keys; throws a
 * PlaceholderError when a placeholder stands where its value would not be data, or has no value.
 */
export function toArgv(
  command: readonly string[],
  parameters: Record<string, unknown> = {},
): string[] {
  const text = (name: string): string => {
    // Own keys only: `{{toString}}` must not find Object.prototype's.
    if (!Object.hasOwn(parameters, name))
      throw new PlaceholderError(`command uses {{${name}}} but parameters has no "${name}"`, -1);
    const value = parameters[name];
    return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  };
  const fill = (item: string) => {
    const whole = WHOLE.exec(item);
    return whole ? text(whole[1] as string) : item;
  };
  const { script } = shape(command);
  if (command.length === 1) {
    const { text: body, names } = script as Script;
    return ["/bin/sh", "-c", body, "sh", ...names.map(text)];
  }
  if (!script) return command.map(fill);
  const { at, shell, text: body, names } = script;
  // After the script come $0, $1...: the values follow whatever the command already passes.
  const after = command.slice(at + 1).map(fill);
  const zero = after.length > 0 ? [] : [shell];
  return [...command.slice(0, at).map(fill), body, ...after, ...zero, ...names.map(text)];
}

interface Script {
  /** The item that holds the script, and the shell that runs it. */
  at: number;
  shell: string;
  /** The script with each placeholder made a quoted positional parameter. */
  text: string;
  /** The placeholders' names, in the order of their positional parameters. */
  names: string[];
}

/** Checks every item and rewrites the shell script, if there is one. */
function shape(command: readonly string[]): { script?: Script } {
  if (command.length === 1) return { script: toScript(command[0] as string, 0, "sh", 1) };
  const found = shellScript(command);
  for (const [i, item] of command.entries()) {
    if (i === found?.at) continue;
    PLACEHOLDER.lastIndex = 0;
    if (!WHOLE.test(item) && PLACEHOLDER.test(item))
      throw new PlaceholderError(
        `command[${i}] (${JSON.stringify(item)}) puts {{${nameIn(item)}}} inside a larger string, where a program may read the value as code: ${HOW}`,
        i,
      );
  }
  if (!found) return {};
  const first = Math.max(1, command.length - found.at - 1);
  return { script: toScript(command[found.at] as string, found.at, found.shell, first) };
}

const nameIn = (item: string) => new RegExp(PLACEHOLDER.source).exec(item)?.[1] ?? "";

/**
 * Rewrites a shell script so that its placeholders read positional parameters from `first` on:
 * `"${1}"` for `{{x}}` or `"{{x}}"` standing as a whole word. A placeholder that is part of a
 * larger word, or inside single quotes (where the shell expands nothing), is refused.
 */
function toScript(script: string, item: number, shell: string, first: number): Script {
  const names: string[] = [];
  let out = "";
  let quote: "" | "'" | '"' = "";
  /** Whether what came last ends a word (outside quotes), so that a new word starts here. */
  let boundary = true;
  /** Where the current double quote opened, when it opened a new word. */
  let wordQuote = -1;
  for (let i = 0; i < script.length; ) {
    PLACEHOLDER.lastIndex = i;
    const match = script.startsWith("{{", i) ? PLACEHOLDER.exec(script) : null;
    if (match && match.index === i) {
      const name = match[1] as string;
      const end = i + match[0].length;
      const ends = (at: number) => at >= script.length || WORD_END.test(script[at] as string);
      const whole =
        quote === ""
          ? boundary && ends(end)
          : quote === '"' && wordQuote === i - 1 && script[end] === '"' && ends(end + 1);
      if (!whole)
        throw new PlaceholderError(
          quote === "'"
            ? `command[${item}]: {{${name}}} sits inside single quotes in a shell script, where its value cannot be passed as data: remove the quotes around it (the value arrives as one word either way)`
            : `command[${item}]: {{${name}}} is part of a larger word in a shell script, which a program would get with the value spliced in and may read as code: ${HOW}`,
          item,
        );
      out += quote === '"' ? `\${${first + names.length}}` : `"\${${first + names.length}}"`;
      names.push(name);
      i = end;
      boundary = false;
      continue;
    }
    const c = script[i] as string;
    if (c === "\\" && quote !== "'") {
      out += script.slice(i, i + 2);
      i += 2;
      boundary = false;
      continue;
    }
    if (quote === "" && (c === "'" || c === '"')) {
      wordQuote = c === '"' && boundary ? i : -1;
      quote = c;
      boundary = false;
    } else if (quote !== "" && c === quote) quote = "";
    else if (quote === "") boundary = WORD_END.test(c);
    out += c;
    i++;
  }
  return { at: item, shell, text: out, names };
}

/**
 * Where the argv form hands a script to a shell: the first item after `<shell> ... -c` that is not
 * an option (`bash -c`, `bash -lc`, `env X=1 sh -euc`, `docker exec box sh -c`).
 */
function shellScript(command: readonly string[]): { at: number; shell: string } | undefined {
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
