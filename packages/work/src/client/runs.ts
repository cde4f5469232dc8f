/** The client's calls on pipeline runs: starting or deploying them, reading them, steering them. */

import type { ExpireRequest, ExpireResult, PreviewAnswer } from "../cache-requests.js";
import type { ConfigDeployed, ConfigRemoved } from "../chime-requests.js";
import type { MergeStepsRequest } from "../pipeline/merge.js";
import type { RunOutputs } from "../run-outputs.js";
import type {
  CreateRunRequest,
  RerunAnswer,
  RerunRequest,
  RunCancelled,
  RunCheck,
  RunCreated,
  RunListParams,
  RunPaused,
  RunResumed,
  RunSummary,
  StepsMerged,
} from "../runs-requests.js";
import { LogsClient } from "./logs.js";

/**
 * GET /runs's filter. `status` is any text: the service names the statuses when it is none of
 * them (the CLI passes what it was given).
 */
export type RunListFilter = Omit<RunListParams, "status" | "limit" | "skip"> & {
  status?: string;
  limit?: number;
  skip?: number;
};

const runPath = (id: string, action = "") =>
  `/runs/${encodeURIComponent(id)}${action ? `/${action}` : ""}`;

/** A run's body: the config (checked by the service), its params and when it is released. */
function runBody(config: unknown, params?: Record<string, unknown>, at?: number) {
  return {
    config: config as CreateRunRequest["config"],
    ...(params ? { params } : {}),
    ...(at === undefined ? {} : { at }),
  } satisfies CreateRunRequest;
}

/** The calls on pipeline runs: start, check, preview, watch and steer them; deploy configs. */
export class RunsClient extends LogsClient {
  /** Starts a run of a pipeline config (YAML text or an object): the run's id and its works' ids. */
  startRun(
    config: unknown,
    params?: Record<string, unknown>,
    { at }: { at?: number } = {},
  ): Promise<RunCreated> {
    return this.call("POST", "/runs", runBody(config, params, at));
  }

  /**
   * Deploys a config with `on:`: its cron triggers become schedules, each giving `params` to the
   * runs it starts; nothing runs now. `dryRun` checks it all and stores nothing.
   */
  deployConfig(
    config: Record<string, unknown>,
    { params, dryRun }: { params?: Record<string, unknown>; dryRun?: boolean } = {},
  ): Promise<ConfigDeployed> {
    const query = new URLSearchParams({
      ...(dryRun ? { dry_run: "true" } : {}),
      ...(params && Object.keys(params).length > 0 ? { params: JSON.stringify(params) } : {}),
    });
    return this.call("POST", `/configs${query.size > 0 ? `?${query}` : ""}`, config);
  }

  /** Removes a deployed config: the schedules its `on:` made. */
  undeployConfig(name: string): Promise<ConfigRemoved> {
    return this.call("DELETE", `/configs?${new URLSearchParams({ name })}`);
  }

  /**
   * Every check `startRun` would pass on the service (this token's user, pipelines and sites, the
   * callback's target), storing nothing: what `workflow pipeline run --dry-run` asks.
   */
  checkRun(config: unknown, params?: Record<string, unknown>): Promise<RunCheck> {
    return this.call("POST", "/runs?dry_run=true", runBody(config, params));
  }

  /** What starting a run would do with each work (taken from the cache, or to run); writes nothing. */
  previewRun(config: unknown, params?: Record<string, unknown>): Promise<PreviewAnswer> {
    return this.call("POST", "/runs/preview", runBody(config, params));
  }

  /** Makes cache entries unusable for reuse: a run's step (and after), a key, or a pipeline's older. */
  expireCache(request: ExpireRequest): Promise<ExpireResult> {
    return this.call("POST", "/cache/expire", request);
  }

  /** Runs, newest first. */
  runs(filter: RunListFilter = {}): Promise<RunSummary[]> {
    const query = new URLSearchParams(
      Object.entries(filter).flatMap(([k, v]): [string, string][] =>
        v === undefined ? [] : [[k, String(v)]],
      ),
    );
    return this.call("GET", `/runs${query.size > 0 ? `?${query}` : ""}`);
  }

  /** A run with each step's counts by status, and its events. */
  run(id: string): Promise<RunSummary> {
    return this.call("GET", runPath(id));
  }

  /** Each step's results and products (of one step, when named). */
  runOutputs(id: string, step?: string): Promise<RunOutputs> {
    const query = step === undefined ? "" : `?${new URLSearchParams({ step })}`;
    return this.call("GET", `${runPath(id, "outputs")}${query}`);
  }

  cancelRun(id: string): Promise<RunCancelled> {
    return this.call("POST", runPath(id, "cancel"));
  }

  /** Re-runs a run's works: some steps (or one work), only failures, and what depends on them. */
  rerun(id: string, request: RerunRequest = {}): Promise<RerunAnswer> {
    return this.call("POST", runPath(id, "rerun"), request);
  }

  /** Pauses a run: nothing more of it is queued; its queued works go back to waiting. */
  pauseRun(id: string): Promise<RunPaused> {
    return this.call("POST", runPath(id, "pause"));
  }

  resumeRun(id: string): Promise<RunResumed> {
    return this.call("POST", runPath(id, "resume"));
  }

  /** Adds steps to a running run, or replaces its steps of the same name (which run again). */
  mergeSteps(id: string, steps: MergeStepsRequest["steps"]): Promise<StepsMerged> {
    return this.call("POST", runPath(id, "steps"), { steps } satisfies MergeStepsRequest);
  }
}
