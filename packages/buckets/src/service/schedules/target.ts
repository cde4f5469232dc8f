/** What a schedule deposits: its target checked when added, and deposited at each tick. */

import type { ScheduleTarget } from "@workflow/work";
import { requireOwner, requirePipeline } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { invalid } from "../../errors.js";
import type { ServiceContext } from "../context.js";
import { deposit } from "../deposit.js";
import { policyOf, requireCallbackTarget } from "../runs/callback-target.js";
import { createRun, plan, slackOf } from "../runs/create.js";
import { requireSite } from "../sites.js";

/** What one tick deposited: the works' ids, and the run's id for a pipeline target. */
export interface Deposited {
  works: string[];
  run?: string;
}

const isWorks = (target: ScheduleTarget): target is { works: unknown[] } => "works" in target;

/**
 * Checks a target with every rule its deposit will meet, storing nothing, and answers the
 * pipelines it deposits to. A target refused here is refused when the schedule is added.
 */
export async function checkTarget(
  ctx: ServiceContext,
  principal: Principal,
  target: ScheduleTarget,
): Promise<string[]> {
  if (isWorks(target)) {
    target.works.forEach((work, index) => {
      if (work !== null && typeof work === "object" && "id" in work) {
        throw invalid(
          `target.works[${index}].id: a schedule deposits new works at every tick, so they may not name an id; remove it`,
        );
      }
    });
    await deposit(ctx, principal, target.works, { dryRun: true });
    const pipelines = target.works.map((work) => (work as { pipeline: string }).pipeline);
    return [...new Set(pipelines)].sort();
  }
  const planned = plan(principal, target.config, target.params);
  slackOf(ctx, planned.config);
  if (planned.config.callback) {
    await requireCallbackTarget(policyOf(ctx), planned.config.callback);
  }
  const pipelines = new Set<string>();
  for (const step of planned.steps) {
    for (const { work } of step.works) {
      requireOwner(principal, work.user, `step "${step.name}" (user "${work.user}")`);
      requirePipeline(principal, work.pipeline);
      requireSite(ctx, work.site, `step "${step.name}"`);
      pipelines.add(work.pipeline);
    }
  }
  return [...pipelines].sort();
}

/** Deposits a target through the same doors as `POST /work` and `POST /runs`. */
export async function depositTarget(
  ctx: ServiceContext,
  principal: Principal,
  target: ScheduleTarget,
  /** The tick it fires for: the run's `${{ release.time }}`. */
  tick?: number,
): Promise<Deposited> {
  if (isWorks(target)) return { works: await deposit(ctx, principal, target.works) };
  const body = { config: target.config, ...(target.params ? { params: target.params } : {}) };
  const { id, works } = await createRun(ctx, principal, body, "schedules", tick);
  return { works, run: id };
}
