/** Who may see and act on a run: readers, and its owner within its pipelines. */

import { ObjectIdSchema } from "@workflow/work";
import { hasScope, isAdmin, mayRead, requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { notFound, refuse } from "../../errors.js";
import { type ObjectId, type RunDoc, toObjectId } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { canSee } from "../lifecycle.js";
import { parseWith } from "../validate.js";

/** A run is visible to a token whose pipelines hold all of the run's. */
export function canSeeRun(principal: Principal, run: Pick<RunDoc, "pipelines">): boolean {
  return run.pipelines.every((p) => canSee(principal, p));
}

export function parseRunId(raw: unknown): ObjectId {
  return toObjectId(parseWith(ObjectIdSchema, raw, "run id"));
}

/**
 * The run, for a reader (work:read) or its owner within its pipelines; else it does not exist for
 * them (the same 404 as an unknown id).
 */
export async function readableRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunDoc> {
  requireScope(principal, "work:read", "work:deposit");
  const run = await ctx.store.runs.get(id);
  if (!run || !canSeeRun(principal, run) || !mayRead(principal, run.user))
    throw notFound(`no run with id ${id.toHexString()}`);
  return run;
}

/** The run, for its owner (work:deposit) or an admin, within the token's pipelines. */
export async function ownRun(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
): Promise<RunDoc> {
  requireScope(principal, "work:deposit");
  const run = await readableRun(ctx, principal, id);
  if (!isAdmin(principal) && run.user !== principal.sub) {
    throw refuse(
      "not_owner",
      `run ${id.toHexString()} belongs to user "${run.user}", not "${principal.sub}"`,
    );
  }
  return run;
}

/**
 * The user whose runs a listing may hold: a token that may not read others' runs lists only its
 * own, and nothing (null) when it asked for another user's.
 */
export function listedUser(
  principal: Principal,
  asked: string | undefined,
): string | undefined | null {
  if (hasScope(principal, "work:read")) return asked;
  return asked === undefined || asked === principal.sub ? principal.sub : null;
}
