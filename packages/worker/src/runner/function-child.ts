/**
 * Runs function works inside a process of their own, so that a timeout can kill them. Gets
 * `{specifier, parameters, cwd}` over IPC and answers `{ok, value}` or `{ok: false, error}`; it then
 * waits for the next work, so that a worker reuses warm processes (and loaded modules).
 */
import { createRequire } from "node:module";
import { isAbsolute, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface Request {
  specifier: string;
  parameters: Record<string, unknown>;
  cwd: string;
}

/** A path relative to the worker's directory, or a package name resolved from there. */
async function load(specifier: string, cwd: string): Promise<Record<string, unknown>> {
  if (specifier.startsWith(".") || isAbsolute(specifier)) {
    return import(pathToFileURL(resolve(cwd, specifier)).href);
  }
  try {
    const path = createRequire(join(cwd, "noop.js")).resolve(specifier);
    return await import(pathToFileURL(path).href);
  } catch {
    return import(specifier);
  }
}

// The worker is gone (killed, crashed): end this work and all it started rather than run on alone.
process.on("disconnect", () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(1);
  }
});

process.on("message", async ({ specifier, parameters, cwd }: Request) => {
  const hash = specifier.lastIndexOf("#");
  const [module, name] = [specifier.slice(0, hash), specifier.slice(hash + 1)];
  try {
    const exports = await load(module, cwd);
    const fn = exports[name];
    if (typeof fn !== "function") throw new Error(`${module} has no exported function "${name}"`);
    const value = await fn(parameters);
    process.send?.({
      ok: true,
      value: value === undefined ? null : JSON.parse(JSON.stringify(value)),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.send?.({ ok: false, error: message });
  }
});
