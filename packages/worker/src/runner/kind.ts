/** Which runner, Node or Python, a work's `function` names. */

/** `./jobs/fit.js#fit` or `my-pkg#run`: a Node module and one of its exports. */
const NODE_FUNCTION = /^[^#\s]+#[A-Za-z_$][\w$]*$/;

/** `pkg.module.func`, as CHIME names functions: a module path and a name in it. */
const PYTHON_FUNCTION = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$/;

export type FunctionKind = "node" | "python";

/** Which runner can run a work's `function`, or why none can. */
export function functionKind(
  name: string,
): { kind: FunctionKind; error?: undefined } | { kind?: undefined; error: string } {
  if (NODE_FUNCTION.test(name)) return { kind: "node" };
  if (PYTHON_FUNCTION.test(name)) return { kind: "python" };
  return {
    error: `cannot run function ${JSON.stringify(name.slice(0, 200))}: name a Node export as '<module>#<export>' (./jobs/fit.js#fit, my-pkg#run) or a Python function as 'package.module.function' (mypkg.fit.run)`,
  };
}
