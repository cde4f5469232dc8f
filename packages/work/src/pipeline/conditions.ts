/**
 * A step's `if:`, read by a small grammar and never evaluated as code:
 *
 *   expr    := and ("||" and)*
 *   and     := unary ("&&" unary)*
 *   unary   := "!" unary | "(" expr ")" | status | compare
 *   status  := "success()" | "failure()" | "always()" | "cancelled()"
 *   compare := operand (("==" | "!=") operand)?
 *   operand := needs.<step>.result | 'text' | "text"
 *
 * A condition is evaluated as written: `needs.fit.result == 'failure'` runs the step when fit
 * failed, with no hidden `success() &&` in front (GitHub's habit, which makes that line never hold).
 */

/** What `needs.<step>.result` may be: a step's outcome. */
export const STEP_RESULTS = ["success", "failure", "skipped", "cancelled"] as const;
export type StepResult = (typeof STEP_RESULTS)[number];

const STATUS_FUNCTIONS = ["success", "failure", "always", "cancelled"] as const;
type StatusFunction = (typeof STATUS_FUNCTIONS)[number];

/** The longest condition read: a step's `if:` is a line, not a program. */
export const MAX_CONDITION_LENGTH = 1000;

export type ConditionNode =
  | { kind: "or" | "and"; left: ConditionNode; right: ConditionNode }
  | { kind: "not"; operand: ConditionNode }
  | { kind: "status"; name: StatusFunction }
  | { kind: "compare"; op: "==" | "!="; left: Operand; right: Operand }
  | { kind: "truthy"; operand: Operand };

type Operand = { kind: "result"; step: string } | { kind: "text"; value: string };

export class ConditionSyntaxError extends Error {}

type Token = { kind: "op" | "word" | "text"; value: string; at: number };

const TOKEN = /\s*(?:(\|\||&&|==|!=|!|\(|\))|'([^']*)'|"([^"]*)"|([A-Za-z_][A-Za-z0-9_.-]*))/y;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    if (/^\s*$/.test(text.slice(at))) break;
    TOKEN.lastIndex = at;
    const m = TOKEN.exec(text);
    if (!m) throw new ConditionSyntaxError(`unexpected "${text.slice(at).trim()[0]}" at ${at + 1}`);
    const start = m.index + (m[0].length - m[0].trimStart().length);
    if (m[1] !== undefined) tokens.push({ kind: "op", value: m[1], at: start });
    else if (m[2] !== undefined) tokens.push({ kind: "text", value: m[2], at: start });
    else if (m[3] !== undefined) tokens.push({ kind: "text", value: m[3], at: start });
    else tokens.push({ kind: "word", value: m[4] as string, at: start });
    at = TOKEN.lastIndex;
  }
  return tokens;
}

/**
 * A condition as its bare expression: GitHub's `${{ success() }}` wrapping (the whole condition
 * inside one `${{ }}`) is read as `success()`.
 */
export function bareCondition(raw: string): string {
  return raw.replace(/^\s*\$\{\{\s*([\s\S]*?)\s*\}\}\s*$/, "$1").trim();
}

/** Parses a condition (with or without `${{ }}` around it); throws ConditionSyntaxError. */
export function parseCondition(raw: string): ConditionNode {
  const text = bareCondition(raw);
  if (text.length === 0) throw new ConditionSyntaxError("it is empty");
  if (text.length > MAX_CONDITION_LENGTH) {
    throw new ConditionSyntaxError(`it is over ${MAX_CONDITION_LENGTH} characters`);
  }
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (value: string) => {
    if (peek()?.kind === "op" && peek()?.value === value) {
      i++;
      return true;
    }
    return false;
  };
  const describe = (token: Token | undefined) =>
    token ? `"${token.value}" at ${token.at + 1}` : "the end";
  const operand = (): Operand => {
    const token = tokens[i++];
    if (token?.kind === "text") return { kind: "text", value: token.value };
    if (token?.kind === "word") {
      const m = /^needs\.([A-Za-z0-9_-]+)\.result$/.exec(token.value);
      if (m) return { kind: "result", step: m[1] as string };
      throw new ConditionSyntaxError(
        `unknown name "${token.value}": use needs.<step>.result, a quoted text, or success(), failure(), always(), cancelled()`,
      );
    }
    throw new ConditionSyntaxError(`expected a value, found ${describe(token)}`);
  };
  const unary = (): ConditionNode => {
    if (take("!")) return { kind: "not", operand: unary() };
    if (take("(")) {
      const inner = or();
      if (!take(")")) throw new ConditionSyntaxError(`expected ")", found ${describe(peek())}`);
      return inner;
    }
    const token = peek();
    const next = tokens[i + 1];
    if (token?.kind === "word" && next?.kind === "op" && next.value === "(") {
      if (!(STATUS_FUNCTIONS as readonly string[]).includes(token.value)) {
        throw new ConditionSyntaxError(
          `unknown function "${token.value}()": use success(), failure(), always() or cancelled()`,
        );
      }
      i += 2;
      if (!take(")")) {
        throw new ConditionSyntaxError(`${token.value}() takes no arguments`);
      }
      return { kind: "status", name: token.value as StatusFunction };
    }
    const left = operand();
    const op = peek();
    if (op?.kind === "op" && (op.value === "==" || op.value === "!=")) {
      i++;
      return { kind: "compare", op: op.value, left, right: operand() };
    }
    return { kind: "truthy", operand: left };
  };
  const and = (): ConditionNode => {
    let node = unary();
    while (take("&&")) node = { kind: "and", left: node, right: unary() };
    return node;
  };
  const or = (): ConditionNode => {
    let node = and();
    while (take("||")) node = { kind: "or", left: node, right: and() };
    return node;
  };
  const tree = or();
  if (i < tokens.length) throw new ConditionSyntaxError(`unexpected ${describe(peek())}`);
  return tree;
}

function walk(node: ConditionNode, visit: (operand: Operand) => void): void {
  if (node.kind === "or" || node.kind === "and") {
    walk(node.left, visit);
    walk(node.right, visit);
  } else if (node.kind === "not") walk(node.operand, visit);
  else if (node.kind === "compare") {
    visit(node.left);
    visit(node.right);
  } else if (node.kind === "truthy") visit(node.operand);
}

/**
 * Checks a condition against the step's needs: what is wrong with it, or undefined. A step it
 * names must be one the step needs, and a text compared with a result must be a result.
 */
export function conditionProblem(raw: string, needs: readonly string[]): string | undefined {
  let tree: ConditionNode;
  try {
    tree = parseCondition(raw);
  } catch (error) {
    if (error instanceof ConditionSyntaxError) return error.message;
    throw error;
  }
  const problems: string[] = [];
  walk(tree, (operand) => {
    if (operand.kind === "result" && !needs.includes(operand.step)) {
      problems.push(
        `needs.${operand.step}.result: the step does not need a step "${operand.step}"; add it to needs`,
      );
    }
  });
  const compared = (node: ConditionNode): void => {
    if (node.kind === "or" || node.kind === "and") {
      compared(node.left);
      compared(node.right);
    } else if (node.kind === "not") compared(node.operand);
    else if (node.kind === "compare") {
      for (const side of [node.left, node.right]) {
        if (side.kind === "text" && !(STEP_RESULTS as readonly string[]).includes(side.value)) {
          problems.push(`'${side.value}' is never a result: use one of ${STEP_RESULTS.join(", ")}`);
        }
      }
    }
  };
  compared(tree);
  return problems[0];
}

/** What a condition reads about the run when its step's needs have all ended. */
export interface ConditionFacts {
  /** The outcome of a step the condition's step needs. */
  result(step: string): StepResult;
  /** Whether every step it needs succeeded: what `success()`, and no `if:`, ask. */
  allSucceeded: boolean;
  /** Whether a step it needs, or one those need, failed. */
  failedUpstream: boolean;
  /** Whether a step it needs, or one those need, was cancelled. */
  cancelledUpstream: boolean;
}

type Value = boolean | string;

/** Whether a condition holds; `raw` was checked at submission. */
export function conditionHolds(raw: string, facts: ConditionFacts): boolean {
  const value = (operand: Operand): string =>
    operand.kind === "text" ? operand.value : facts.result(operand.step);
  const run = (node: ConditionNode): Value => {
    switch (node.kind) {
      case "or":
        return truthy(run(node.left)) || truthy(run(node.right));
      case "and":
        return truthy(run(node.left)) && truthy(run(node.right));
      case "not":
        return !truthy(run(node.operand));
      case "compare":
        return (value(node.left) === value(node.right)) === (node.op === "==");
      case "truthy":
        return value(node.operand);
      case "status":
        if (node.name === "always") return true;
        if (node.name === "failure") return facts.failedUpstream;
        if (node.name === "cancelled") return facts.cancelledUpstream;
        return facts.allSucceeded;
    }
  };
  return truthy(run(parseCondition(raw)));
}

const truthy = (value: Value) => value !== false && value !== "";
