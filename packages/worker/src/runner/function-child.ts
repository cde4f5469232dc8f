/**
 * Runs function works inside a process of their own, so that a timeout can kill them. Gets
 * `{file, name, parameters}` over IPC (the worker has already checked that the file lies under its
 * function roots) and answers `{ok, value}` or `{ok: false, error}`; it then waits for the next
 * work, so that a worker reuses warm processes (and loaded modules).
 */
import { pathToFileURL } from "node:url";

interface Request {
  file: string;
  name: string;
  parameters: Record<string, unknown>;
}

// The worker is gone (killed, crashed): end this work and all it started rather than run on alone.
process.on("disconnect", () => {
  try {
    process.kill(-process.pid, "SIGKILL");
  } catch {
    process.exit(1);
  }
});

process.on("message", async ({ file, name, parameters }: Request) => {
  try {
    const exports = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const fn = exports[name];
    if (typeof fn !== "function" || !Object.hasOwn(exports, name))
      throw new Error(`${file} has no exported function "${name}"`);
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
