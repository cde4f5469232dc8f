/** Where function works may be loaded from, and nothing outside it. */

import { realpathSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, isAbsolute, join, resolve, sep } from "node:path";

/** A function specifier the worker will not load; the message says which and why. */
export class FunctionRefusedError extends Error {}

/** The directories a worker loads functions from: `--function-root`, or its directory. */
export function defaultFunctionRoots(cwd: string): string[] {
  return [cwd, join(cwd, "node_modules")];
}

/**
 * The directories Python functions load from: the worker's function roots, and when none was
 * given (`--function-root`), also each directory on PYTHONPATH, which only whoever runs the
 * worker sets. Installed packages (site-packages) are not roots unless named: a pipeline installed
 * there (CHIME's `pkg.module.func`) needs `--function-root` with its directory.
 */
export function pythonFunctionRoots(
  roots: readonly string[],
  given: boolean,
  cwd: string,
  env: Record<string, string | undefined> = process.env,
): string[] {
  if (given) return [...roots];
  const path = (env.PYTHONPATH ?? "").split(delimiter).filter((entry) => entry !== "");
  return [...roots, ...path.map((entry) => resolve(cwd, entry))];
}

/**
 * The file that `module#export` names, when it lies under one of the roots. Paths resolve from the
 * working directory, package names as Node resolves them from there; built-in modules
 * (`node:child_process`) and anything outside the roots, symbolic links followed, are refused, so
 * a work can name only code that whoever runs the worker put there.
 */
export function resolveFunction(
  specifier: string,
  cwd: string,
  roots: readonly string[],
): { file: string; name: string } {
  const hash = specifier.lastIndexOf("#");
  if (hash <= 0 || hash === specifier.length - 1)
    throw new FunctionRefusedError(
      `function "${specifier}" is not "module#export" (for instance "./jobs/fit.js#fit")`,
    );
  const module = specifier.slice(0, hash);
  const name = specifier.slice(hash + 1);
  if (module.includes("\0") || name.includes("\0"))
    throw new FunctionRefusedError(`function "${specifier}" holds a NUL byte`);
  let path: string;
  if (module.startsWith(".") || isAbsolute(module)) path = resolve(cwd, module);
  else {
    try {
      path = createRequire(join(cwd, "noop.js")).resolve(module);
    } catch {
      throw new FunctionRefusedError(
        `cannot find module "${module}" from ${cwd} (install it there, or name a path like "./${module}.js")`,
      );
    }
  }
  if (!isAbsolute(path))
    throw new FunctionRefusedError(
      `function "${specifier}": "${module}" is built into Node, and workers run only functions from their function roots (${roots.join(", ")})`,
    );
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    throw new FunctionRefusedError(`function "${specifier}": no file ${path}`);
  }
  // A link the operator put under a root (an npm workspace's package) counts as under it.
  if (!roots.some((root) => within(path, resolve(root)) || within(real, realOf(root))))
    throw new FunctionRefusedError(
      `function "${specifier}" resolves to ${real}, outside this worker's function roots (${roots.join(", ")}); start the worker with --function-root to allow another directory`,
    );
  return { file: real, name };
}

function within(file: string, root: string | undefined): boolean {
  return root !== undefined && file.startsWith(root.endsWith(sep) ? root : root + sep);
}

function realOf(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
