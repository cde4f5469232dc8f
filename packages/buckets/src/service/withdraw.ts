import { requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { compileQuery, WITHDRAW_FIELDS } from "../query.js";
import { type Query, toObjectId } from "../store/index.js";

/** Compiles a worker's filter; it must name the pipelines it serves. */
export function withdrawQuery(principal: Principal, body: unknown): Query {
  requireScope(principal, "work:withdraw");
  const query = compileQuery(body ?? {}, { fields: WITHDRAW_FIELDS, toId: toObjectId }, "filter");
  const pipeline = query.pipeline;
  if (pipeline === undefined) {
    throw invalid('filter.pipeline is required: a name or {"$in": [names]}');
  }
  if (principal.pipelines) {
    const named = namedPipelines(pipeline);
    if (!named) {
      throw invalid(
        'filter.pipeline must be a name or {"$in": [names]} for a token limited to pipelines',
      );
    }
    for (const name of named) requirePipeline(principal, name);
  }
  return query;
}

/** The pipelines a compiled `pipeline` condition names, when it is a name or an `$in` of names. */
function namedPipelines(condition: unknown): string[] | undefined {
  if (typeof condition === "string") return [condition];
  const list = (condition as { $in?: unknown }).$in;
  const onlyIn =
    typeof condition === "object" && condition !== null && Object.keys(condition).length === 1;
  return onlyIn && Array.isArray(list) ? list.map(String) : undefined;
}
