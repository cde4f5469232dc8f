/**
 * CHIME's configs API (workflow/http/configs.py, client v1.12) mapped onto runs: a deployed config
 * is a run, and its one pipeline is the run itself. `workflow configs deploy FILE` starts a run.
 */

import {
  type ChimeConfig,
  type ConfigCheck,
  type ConfigDeployed,
  ConfigDeployParamsSchema,
  type ConfigStarted,
  JsonParam,
} from "@workflow/work";
import { z } from "zod";
import { requireScope } from "../../auth/access.js";
import type { Principal } from "../../auth/tokens.js";
import { invalid, notFound, refuse, ServiceError } from "../../errors.js";
import type { RunDoc } from "../../store/index.js";
import { project } from "../chime-query.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import { listedUser, ownRun, parseRunId, readableRun } from "./access.js";
import { cancelRun, rerunRun } from "./control.js";
import { checkRun, createRun } from "./create.js";
import { deployTriggers, hasTriggers, undeployConfig } from "./deploy.js";

/**
 * POST /configs?dry_run&params: the YAML as a mapping. Answers `{config, pipelines}` as CHIME's
 * CLI prints it. `params` (JSON text) are the run's params, or those of every run a deployed
 * config's schedules start; `dry_run=true` checks as the deploy (or the run) would, storing nothing.
 */
export async function deployConfig(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
  options: unknown = {},
): Promise<ConfigStarted | ConfigCheck | ConfigDeployed> {
  const asked = parseWith(ConfigDeployParamsSchema, options, "query");
  const dryRun = asked.dry_run;
  const params = Object.keys(asked.params).length > 0 ? asked.params : undefined;
  // A config that says what starts its runs is deployed as its schedules; nothing runs now.
  if (hasTriggers(body)) return deployTriggers(ctx, principal, body, { params, dryRun });
  const request = { config: body, ...(params ? { params } : {}) };
  if (dryRun) return { ...(await checkRun(ctx, principal, request)), dryRun: true as const };
  const { id } = await createRun(ctx, principal, request, "configs");
  return { config: id, pipelines: [id] };
}

/** CHIME's view of a run. */
function asConfig(run: RunDoc): ChimeConfig {
  const id = run._id.toHexString();
  return {
    id,
    name: run.name,
    version: "2",
    user: run.user,
    status: run.status,
    pipelines: [id],
    creation: run.created,
    // JSON is YAML: CHIME's CLI reads this with yaml.safe_load.
    ...(run.config
      ? {
          yaml: JSON.stringify(run.config, null, 2),
          deployments: (run.config.deployments ?? []) as unknown[],
        }
      : {}),
  };
}

const ListSchema = z.looseObject({
  name: z.string().max(128).optional(),
  query: JsonParam("query"),
  projection: JsonParam("projection"),
});

/**
 * GET /configs?name&query&projection: the runs as configs; `query` may name an `id`. Without
 * work:read, only the caller's own.
 */
export async function listConfigs(ctx: ServiceContext, principal: Principal, params: unknown) {
  requireScope(principal, "work:read", "work:deposit");
  const { name, query, projection } = parseWith(ListSchema, params, "query");
  let runs: RunDoc[];
  if (typeof query.id === "string") {
    const run = await readableRun(ctx, principal, parseRunId(query.id)).catch((error: unknown) => {
      if (isNotFound(error)) return null;
      throw error;
    });
    runs = run && (!name || run.name === name) ? [run] : [];
  } else {
    const user = listedUser(principal, undefined) ?? undefined;
    runs = await ctx.store.runs.list({ name, user, within: principal.pipelines }, 100, 0);
    const full = await Promise.all(runs.map((r) => ctx.store.runs.get(r._id)));
    runs = full.filter((r): r is RunDoc => r !== null);
  }
  return runs.map((run) => project(asConfig(run), projection));
}

/** GET /configs/count: how many configs (runs) there are; without work:read, of the caller's. */
export async function countConfigs(ctx: ServiceContext, principal: Principal) {
  requireScope(principal, "work:read", "work:deposit");
  const user = listedUser(principal, undefined) ?? undefined;
  return { configs: await ctx.store.runs.count({ user, within: principal.pipelines }) };
}

const isNotFound = (error: unknown) => error instanceof ServiceError && error.code === "not_found";

function idOf(params: unknown): string {
  const { query } = parseWith(z.looseObject({ query: JsonParam("query") }), params, "query");
  if (typeof query.id !== "string") throw invalid('query must name the config: {"id": "..."}');
  return query.id;
}

/** PUT /configs/cancel?name&query={"id"}: cancels the run; null when it had already ended (304). */
export async function stopConfig(ctx: ServiceContext, principal: Principal, params: unknown) {
  const id = parseRunId(idOf(params));
  const run = await ownRun(ctx, principal, id);
  if (run.status !== "running") return null;
  try {
    await cancelRun(ctx, principal, id);
  } catch (error) {
    if (error instanceof ServiceError && error.code === "wrong_status") return null;
    throw error;
  }
  return { stopped_config: id.toHexString(), stopped_pipelines: [id.toHexString()] };
}

/** DELETE /configs?name&query={"id"}: removes a run that has ended, with its works. */
export async function removeConfig(ctx: ServiceContext, principal: Principal, params: unknown) {
  // `?name=` alone names a deployed config: its schedules go.
  const named = parseWith(z.looseObject({ name: z.string().max(128).optional() }), params, "query");
  const asked = params as { query?: unknown };
  if (asked?.query === undefined && named.name !== undefined) {
    await undeployConfig(ctx, principal, named.name);
    return;
  }
  const id = parseRunId(idOf(params));
  const run = await ownRun(ctx, principal, id);
  if (run.status === "running") {
    throw refuse(
      "wrong_status",
      `config ${id.toHexString()} is running: stop it first (workflow configs stop)`,
    );
  }
  await ctx.store.runWorks.remove(run);
  await ctx.store.runs.remove(id);
}

/** POST /configs/retry {id, name}: re-runs the run's failures and what depends on them. */
export async function retryConfig(ctx: ServiceContext, principal: Principal, body: unknown) {
  const { id } = parseWith(z.looseObject({ id: z.string() }), body, "body");
  const runId = parseRunId(id);
  // A run the caller may not read is answered as an unknown one.
  await readableRun(ctx, principal, runId).catch((error: unknown) => {
    throw isNotFound(error) ? notFound(`no config with id ${id}`) : error;
  });
  return rerunRun(ctx, principal, runId, { failedOnly: true, downstream: true });
}
