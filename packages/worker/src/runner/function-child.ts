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

// What the function prints goes to its work's logs, over IPC: on the same channel as the reply,
// so that nothing it printed can arrive after the work has ended.
for (const stream of ["stdout", "stderr"] as const) {
  const write = (chunk: unknown, encoding?: unknown, done?: unknown): boolean => {
    const text =
      typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
    process.send?.({ output: { stream, text } });
    const callback = typeof encoding === "function" ? encoding : done;
    if (typeof callback === "function") queueMicrotask(() => callback());
    return true;
  };
  process[stream].write = write as typeof process.stdout.write;
}

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
