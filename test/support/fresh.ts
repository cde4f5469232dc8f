import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { type Ran, ROOT, ran } from "./processes.js";

/**
 * Copies the repository as a clone would hold it (tracked files plus new ones git does not
 * ignore; no node_modules, no dist) into `target`, so that a test can run `npm ci` there.
 */
export function copyRepository(target: string): void {
  const files = execFileSync(
    "git",
    ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  )
    .split("\0")
    .filter((file) => file !== "");
  for (const file of files) {
    const from = join(ROOT, file);
    if (!existsSync(from)) continue; // deleted in the working tree
    mkdirSync(dirname(join(target, file)), { recursive: true });
    cpSync(from, join(target, file));
  }
}

/** The environment of a new shell: this one's, without any buckets or workflow settings. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      /^(WORKFLOW_|BUCKETS_|MONGODB_URI$|PORT$|HOST$|LOG_LEVEL$|npm_|NODE_OPTIONS$|VITEST)/.test(
        key,
      )
    )
      continue;
    env[key] = value;
  }
  // npx must never fetch a package from the registry in place of ours.
  return { ...env, npm_config_yes: "false", ...extra };
}

/** Runs a bash script in `cwd`; killed after `ms`. */
export function bash(
  script: string,
  options: {
    cwd: string;
    env: Record<string, string>;
    ms?: number;
    onSpawn?: (child: ChildProcess) => void;
  },
): Promise<Ran> {
  return ran("bash", ["-c", script], options);
}

/** The code block of `language` that follows a README heading (the first, or the nth). */
export function readmeBlock(readme: string, heading: string, language = "sh", nth = 0): string {
  const at = readme.indexOf(`\n${heading}\n`);
  if (at === -1) throw new Error(`README has no "${heading}"`);
  const next = readme.indexOf("\n## ", at + heading.length + 2);
  const section = readme.slice(at, next === -1 ? undefined : next);
  const blocks = [...section.matchAll(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``, "g"))];
  const block = blocks[nth]?.[1];
  if (block === undefined) throw new Error(`no ${language} block ${nth} under "${heading}"`);
  return block;
}

/** Every process below `pid` (Linux /proc), found now. */
export function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift() as number) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** `npm start` in `cwd`, with its output kept; resolves once the service prints its URL. */
export async function npmStart(
  cwd: string,
  env: Record<string, string>,
  args: string[] = [],
  ms = 180_000,
): Promise<{ child: ChildProcess; url: string; token: string; output: () => string }> {
  const child = spawn("npm", ["start", ...(args.length > 0 ? ["--", ...args] : [])], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const started = new Promise<{ url: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start: no URL in ${ms} ms:\n${output}`)),
      ms,
    );
    const look = (chunk: Buffer) => {
      output += chunk;
      const url = /buckets is running at (\S+)/.exec(output)?.[1];
      const token = /admin token: (\S+)/.exec(output)?.[1];
      if (url && token) {
        clearTimeout(timer);
        resolve({ url, token });
      }
    };
    child.stdout.on("data", look);
    child.stderr.on("data", look);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}):\n${output}`));
    });
  });
  return { child, ...(await started), output: () => output };
}
