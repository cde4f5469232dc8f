/** Withdraw: a worker's filter compiled and claimed from, waiting when nothing is there. */

import { WithdrawParamsSchema } from "@workflow/work";
import { requirePipeline, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid } from "../errors.js";
import { compileQuery, WITHDRAW_FIELDS } from "../query.js";
import { type Query, toObjectId, type WorkView } from "../store/index.js";
import { holderFor } from "./claimant.js";
import type { Claimer } from "./claimer.js";
import { noteContact } from "./contacts.js";
import type { ServiceContext } from "./context.js";
import type { Dispatcher } from "./dispatch.js";
import { release } from "./lifecycle.js";
import { parseWith } from "./validate.js";

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
export function namedPipelines(condition: unknown): string[] | undefined {
  if (typeof condition === "string") return [condition];
  if (typeof condition !== "object" || condition === null) return undefined;
  const list = (condition as { $in?: unknown }).$in;
  const onlyIn = Object.keys(condition).length === 1;
  return onlyIn && Array.isArray(list) ? list.map(String) : undefined;
}

/** What withdraw needs beyond the context: claims now, and the wait when there is nothing. */
export interface Withdrawing {
  claimer: Claimer;
  dispatcher: Dispatcher;
}

export interface WithdrawRequest {
  filter: unknown;
  params: unknown;
  /** Who claims: the worker's self-description. */
  worker: string;
  /** Aborted when the caller hangs up: a long-poll stops waiting. */
  signal: AbortSignal;
}

/**
 * Claims works for a worker: at once when some are queued, else (with `wait`) when one comes.
 * Answers one work or null, or an array when `count` was given.
 */
export async function withdraw(
  ctx: ServiceContext,
  { claimer, dispatcher }: Withdrawing,
  principal: Principal,
  request: WithdrawRequest,
): Promise<WorkView | WorkView[] | null> {
  const params = parseWith(WithdrawParamsSchema, request.params, "query");
  const query = withdrawQuery(principal, request.filter);
  await noteContact(
    ctx,
    { user: principal.sub, worker: request.worker },
    "poll",
    namedPipelines(query.pipeline) ?? [],
  );
  const lease = params.lease === true ? ctx.leaseSeconds : params.lease;
  const options = { worker: request.worker, sub: principal.sub, lease };
  // Read before the claim: a deposit between an empty claim and the wait is not missed.
  const since = dispatcher.generation;
  let claimed = await claimer(query, { ...options, count: params.count ?? 1 });
  if (claimed.length === 0 && params.wait) {
    const work = await dispatcher.wait(query, options, params.wait, since, {
      owner: principal.sub,
      signal: request.signal,
    });
    claimed = work ? [work] : [];
  }
  if (request.signal.aborted && claimed.length > 0) {
    await giveBack(ctx, principal, claimed);
    claimed = [];
  }
  return params.count === undefined ? (claimed[0] ?? null) : claimed;
}

/**
 * A caller that hung up before its answer never learns what was claimed for it: those attempts go
 * back to the queue now, uncounted, rather than when their leases end. One that moved meanwhile
 * (cancelled, say) is left as it is.
 */
async function giveBack(ctx: ServiceContext, principal: Principal, works: WorkView[]) {
  await Promise.allSettled(
    works.map(({ id, attempt, pipeline, claim }) =>
      release(
        ctx,
        principal,
        id,
        { attempt: attempt ?? 0, pipeline },
        holderFor(principal, claim, "claim"),
      ),
    ),
  );
}
