import { requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { compileQuery, WITHDRAW_FIELDS } from "../query.js";
import { present, type Query, toObjectId, type WorkView } from "../store/index.js";
import type { ServiceContext } from "./context.js";

export interface WithdrawOptions {
  /** How many works to claim, 1 to 100. */
  count: number;
  /** Who claims, from the X-Worker-Id header. */
  worker: string;
}

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

/** Claims up to `count` works in claim order; each document is claimed atomically. */
export async function claim(
  ctx: ServiceContext,
  query: Query,
  { count, worker }: WithdrawOptions,
): Promise<WorkView[]> {
  const options = () => ({ now: ctx.now(), leaseSeconds: ctx.leaseSeconds, worker });
  const stop = ctx.metrics.claimDuration.startTimer();
  let claimed: WorkView[];
  if (count === 1) {
    const doc = await ctx.store.claim(query, options());
    claimed = doc ? [present(doc)] : [];
  } else {
    // Batch claims of one filter take turns in this instance: run at once, they would all reach
    // for the same first candidates and mostly miss.
    claimed = await inTurn(JSON.stringify(query), async () => {
      const got: WorkView[] = [];
      // Another instance may take some candidates first: go on while there are works to be had.
      for (let round = 0; got.length < count && round < 3; round++) {
        const docs = await ctx.store.claimMany(query, count - got.length, options());
        if (docs.length === 0) break;
        got.push(...docs.map(present));
      }
      return got;
    });
  }
  stop();
  ctx.metrics.claims.inc(claimed.length);
  return claimed;
}

const turns = new Map<string, Promise<unknown>>();

/** Runs `task` after the tasks queued before it under the same key. */
function inTurn<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = turns.get(key) ?? Promise.resolve();
  const next = previous.then(task, task);
  const tail = next.catch(() => undefined);
  turns.set(key, tail);
  void tail.then(() => {
    if (turns.get(key) === tail) turns.delete(key);
  });
  return next;
}
