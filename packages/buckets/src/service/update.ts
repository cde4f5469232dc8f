import { ClaimSecretSchema, droppedBytesOf, ObjectIdSchema } from "@workflow/work";
import { z } from "zod";
import { hasScope, requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { commonCode, refuse, ServiceError } from "../errors.js";
import type { WorkDoc } from "../store/index.js";
import { holderFor, requireClaimer } from "./claimant.js";
import { MAX_BATCH, type ServiceContext } from "./context.js";
import { requireReadable, requireVisible } from "./lifecycle.js";
import { type Plan, planOf } from "./plan.js";
import { releaseRuns, runsOf } from "./runs/release.js";
import { at, parseWith, requireArray } from "./validate.js";

/**
 * An update names its work and, from a worker, the attempt it reports on and the claim secret
 * withdraw answered for it. The claim is the sender's, not the work's: it is no field to change.
 */
const HeadSchema = z.looseObject({
  id: ObjectIdSchema,
  attempt: z.int().min(0).nullish(),
  claim: ClaimSecretSchema.nullish(),
});

interface Item {
  index: number;
  id: string;
  pipeline: string;
  plan: Plan;
}

interface Refusal {
  index: number;
  id: string | undefined;
  error: ServiceError;
}

/**
 * PUT /work: outcomes from workers, changes from owners and admins, each through the transition
 * table. Items are independent: a refused one (named in the error's details) never keeps the
 * others from being recorded, and nothing of a refused work is written.
 */
export async function update(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<void> {
  requireScope(principal, "work:deposit", "work:withdraw");
  const raw = requireArray(body, "works", MAX_BATCH);
  const refused: Refusal[] = [];
  const heads = raw.flatMap((sent, index) => {
    try {
      const { claim, ...item } = parseWith(HeadSchema, sent, at(index));
      const holder = holderFor(principal, claim, `${at(index)}.claim`);
      return [{ index, item, holder, id: item.id, attempt: item.attempt }];
    } catch (error) {
      refused.push({ index, id: undefined, error: error as ServiceError });
      return [];
    }
  });
  const stored = await storedOf(ctx, heads);
  const now = ctx.now();
  const items: Item[] = [];
  for (const { index, item, holder, id, attempt } of heads) {
    try {
      const doc = stored.get(id) ?? null;
      // A worker reports on any work it claimed, whoever deposited it; anyone else changes only
      // what they may read (their own works, or any with work:read).
      if (hasScope(principal, "work:withdraw")) requireVisible(principal, id, doc);
      else requireReadable(principal, id, doc);
      const work = doc as WorkDoc;
      const plan = planOf(ctx, principal, work, item, attempt ?? undefined, index, now);
      // Whatever acts for an attempt comes from its claimer; the attempt fence in the store makes
      // this read of the claim safe (a new claim is a new attempt).
      if (plan.kind === "outcome") requireClaimer(work.claim, holder, id, plan.outcome.attempt);
      items.push({ index, id, pipeline: work.pipeline, plan });
    } catch (error) {
      if (!(error instanceof ServiceError)) throw error;
      refused.push({ index, id, error });
    }
  }
  const lost = await apply(ctx, items, now);
  // A pipeline's dependents are released in the same request as their parents' outcomes.
  const ended = items.filter((i) => !lost.has(i.id) && changesStatus(i.plan));
  await releaseRuns(ctx, runsOf(ended.map((i) => stored.get(i.id))));
  for (const item of items.filter((i) => lost.has(i.id))) {
    refused.push({
      index: item.index,
      id: item.id,
      error: refuse("changed", `work ${item.id} changed while being updated; read it and retry`),
    });
  }
  if (refused.length > 0) throw refusal(refused, items.length - lost.size);
}

/**
 * The works the items name, by id. Items that name their pipeline (this project's worker, and
 * CHIME's, which sends the whole work) are read from its shard; the rest, and any not found there,
 * by id alone, on every shard.
 */
async function storedOf(
  ctx: ServiceContext,
  heads: { id: string; item: Record<string, unknown> }[],
): Promise<Map<string, WorkDoc>> {
  const named = heads.filter((h) => typeof h.item.pipeline === "string");
  const pipelines = [...new Set(named.map((h) => h.item.pipeline as string))];
  const found = await ctx.store.findByIds(
    named.map((h) => h.id),
    pipelines,
  );
  const stored = new Map(found.map((d) => [d._id.toHexString(), d]));
  const rest = heads.filter((h) => !stored.has(h.id)).map((h) => h.id);
  for (const doc of await ctx.store.findByIds(rest)) stored.set(doc._id.toHexString(), doc);
  return stored;
}

/** Writes the plans. Answers the ids another writer got to first. */
async function apply(ctx: ServiceContext, items: Item[], now: number): Promise<Set<string>> {
  const outcomes = items.flatMap((i) => (i.plan.kind === "outcome" ? [i.plan] : []));
  const changes = items.flatMap((i) => (i.plan.kind === "replace" ? [i.plan.change] : []));
  const lost = new Set([
    ...(await ctx.store.recordOutcomes(
      outcomes.map((o) => o.outcome),
      now,
    )),
    ...(await ctx.store.update(changes)),
  ]);
  for (const item of items.filter((i) => i.plan.kind === "cancel")) {
    if (!(await ctx.store.cancel(item.id, item.pipeline, now))) lost.add(item.id);
  }
  const landed = (id: string) => !lost.has(id);
  ctx.metrics.failures.inc(
    outcomes.filter((o) => o.final && landed(o.outcome._id.toHexString())).length,
  );
  ctx.metrics.resultsDropped.inc(
    outcomes.filter(
      (o) =>
        (o.outcome.transition === "succeed" || o.outcome.transition === "fail") &&
        droppedBytesOf(o.outcome.results) !== undefined &&
        landed(o.outcome._id.toHexString()),
    ).length,
  );
  if (changes.some((c) => c.set.status === "queued" && landed(c._id.toHexString()))) {
    ctx.events.emit("work:queued");
  }
  return lost;
}

const changesStatus = (plan: Plan) =>
  plan.kind === "outcome"
    ? plan.outcome.transition === "succeed" || plan.outcome.transition === "fail"
    : plan.kind !== "none";

/**
 * One error for the refused items: their own code when they share one, else their family's (so the
 * status is theirs), else 409; each item's own code is in `details.refused`.
 */
function refusal(refused: Refusal[], recorded: number): ServiceError {
  refused.sort((a, b) => a.index - b.index);
  const code = commonCode(refused.map((r) => r.error.code));
  const others = recorded > 0 ? `; the other ${recorded} were recorded` : "";
  return new ServiceError(
    code,
    `not recorded: ${refused.map((r) => r.error.message).join("; ")}${others}`,
    {
      details: {
        ids: refused.flatMap((r) => (r.id ? [r.id] : [])),
        refused: refused.map((r) => ({
          index: r.index,
          id: r.id,
          code: r.error.code,
          message: r.error.message,
        })),
        recorded,
      },
    },
  );
}
