import type { ExpireRequest, ExpireResult, PreviewWork } from "../cache-requests.js";
import type { AttemptLogs, LogLine } from "../logs.js";
import type { MergeStepsRequest } from "../pipeline/merge.js";
import {
  type BulkRequest,
  type BulkResult,
  CLAIM_HEADER,
  type MintRequest,
  type OutcomeInput,
  type ViewRequest,
  type WithdrawFilter,
} from "../requests.js";
import type { RunOutputs } from "../run-outputs.js";
import type { ScheduleDetail, ScheduleInput, ScheduleView } from "../schedule.js";
import type { Work, WorkInput } from "../schema.js";
import { DEPOSIT_BATCH, DEPOSITS_IN_FLIGHT, inBatches } from "./batches.js";
import { BucketsError } from "./errors.js";
import { readEvents } from "./events.js";
import { type DepositPayload, requireDataPlaceholders, toPayloads } from "./payloads.js";
import { type RetryOptions, withRetries } from "./retry.js";
import {
  type ClientSettings,
  type ClientSettingsInput,
  resolveClientSettings,
} from "./settings.js";
import { type RequestOptions, Transport } from "./transport.js";

export interface BucketsClientOptions extends ClientSettingsInput {
  /** Sent as X-Worker-Id on withdraw: who holds a claim (host, pid, name). */
  workerId?: string;
  /** How long idempotent calls keep retrying. */
  retry?: RetryOptions;
}

export type Filter = Record<string, unknown>;
export type ViewOptions = Omit<ViewRequest, "query">;
export interface DepositOptions {
  returnIds?: boolean;
  static?: boolean;
}
export interface DepositManyOptions {
  static?: boolean;
  /** Each batch's ids once the service has stored it, in the order of the works. */
  onStored?: (ids: string[]) => void;
}

export interface WithdrawOptions {
  count?: number;
  wait?: number;
  /** Seconds, or true for the service's default lease. */
  lease?: number | true;
  signal?: AbortSignal;
}
export type StatusCounts = Record<string, number>;

/** A run as the service shows it (GET /runs/:id adds counts and events). */
export interface RunSummary {
  id: string;
  name: string;
  user: string;
  pipelines: string[];
  status: string;
  created: number;
  finished?: number;
  /** Since when it is paused (unix seconds). */
  paused?: number;
  /** When its config's timeout passes (unix seconds). */
  deadline?: number;
  /** Its config's top-level max-parallel. */
  maxParallel?: number;
  params: Record<string, unknown>;
  steps: {
    name: string;
    needs: string[];
    if: string;
    works: number;
    maxParallel?: number;
    /** For a step made from its needs' results: what from ("fans out from ... at run time"). */
    grows?: string;
    /** Whether its works were made: `works` counts them from then on. */
    grown?: boolean;
    state: string;
    counts?: Record<string, number>;
    /** Its successes answered from the cache (among counts.success). */
    cached?: number;
  }[];
  events?: { at: number; kind: string; step?: string; detail?: string }[];
  callback?: { url: string; attempts: number; delivered?: number; error?: string };
}

/** What a dry run of a run answers (POST /runs?dry_run=true): the run as it would start. */
export interface RunCheck {
  name: string;
  user: string;
  pipelines: string[];
  works: number;
}

/**
 * A work as the service shows it. `claim` only on a work that withdraw answered: the claim secret
 * that the worker sends back with everything it does for that attempt.
 */
export type StoredWork = Work & { id: string; claim?: string };

/** The attempt a worker holds, as withdraw answered it. */
export type Held = Pick<StoredWork, "id" | "attempt" | "claim"> & { pipeline?: string | undefined };

/** Ids per DELETE /work: about 5 KB of URL, well within any server's bound on request headers. */
const DELETE_IDS_PER_REQUEST = 200;

const claimHeaders = ({ claim }: Held) => (claim ? { headers: { [CLAIM_HEADER]: claim } } : {});
const attemptPath = ({ id, attempt, pipeline }: Held, action: string) =>
  `/work/${encodeURIComponent(id)}/${action}?attempt=${attempt}${pipeline ? `&pipeline=${encodeURIComponent(pipeline)}` : ""}`;

/** The buckets service over HTTP. Every call has a timeout; deposits, updates and deletes retry. */
export class BucketsClient {
  readonly settings: Readonly<ClientSettings>;
  readonly #transport: Transport;
  readonly #retry: RetryOptions;

  constructor(options: BucketsClientOptions = {}) {
    this.settings = Object.freeze(resolveClientSettings(options));
    this.#retry = options.retry ?? {};
    this.#transport = new Transport(this.settings, options.workerId);
  }

  /** The first base URL that answers GET /version; the choice is kept for later calls. */
  baseUrl(): Promise<string> {
    return this.#transport.baseUrl();
  }

  #request<T>(method: string, path: string, data?: unknown, options?: RequestOptions): Promise<T> {
    return this.#transport.request<T>(method, path, data, options);
  }

  /**
   * Deposits works, giving each an id first so that a retried request never stores a copy.
   * `static`: the workers supply what to run (`workflow run --function/--command`), so a work may
   * name neither. One request: all of the works are stored, or none.
   */
  async deposit(
    works: (WorkInput | Work)[],
    options: DepositOptions & { returnIds: true },
  ): Promise<string[]>;
  async deposit(works: (WorkInput | Work)[], options?: DepositOptions): Promise<string[] | true>;
  async deposit(
    works: (WorkInput | Work)[],
    { returnIds = false, static: supplied = false }: DepositOptions = {},
  ): Promise<string[] | true> {
    const payloads = toPayloads(works, { supplied });
    await this.#send(payloads);
    return returnIds ? payloads.map((p) => p.id) : true;
  }

  /**
   * Deposits any number of works as requests of DEPOSIT_BATCH, DEPOSITS_IN_FLIGHT at once, so that
   * the service checks one request while it stores another. Every work is checked before any is
   * sent. The service checks each request whole before it stores any of it; the whole deposit is
   * not one request: `onStored` hears of each batch once it is stored, in order, and after a
   * failure no batch is started (those in flight finish, and are told to `onStored` if stored)
   * before the failure is thrown. Answers the ids, in order.
   */
  async depositMany(
    works: (WorkInput | Work)[],
    { static: supplied = false, onStored }: DepositManyOptions = {},
  ): Promise<string[]> {
    const payloads = toPayloads(works, { supplied });
    await inBatches(
      payloads,
      { size: DEPOSIT_BATCH, inFlight: DEPOSITS_IN_FLIGHT },
      (batch) => this.#send(batch),
      (_, batch) => onStored?.(batch.map((p) => p.id)),
    );
    return payloads.map((p) => p.id);
  }

  async #send(payloads: DepositPayload[]): Promise<void> {
    await withRetries(() => this.#request("POST", "/work", payloads), this.#retry);
  }

  /**
   * Claims the next work (or up to `count`); `wait` long-polls up to that many seconds; `lease`
   * holds the claim that many seconds between heartbeats (without it, until the work's timeout).
   */
  withdraw(
    filter: WithdrawFilter,
    options?: Omit<WithdrawOptions, "count">,
  ): Promise<StoredWork | null>;
  withdraw(
    filter: WithdrawFilter,
    options: WithdrawOptions & { count: number },
  ): Promise<StoredWork[]>;
  async withdraw(filter: WithdrawFilter, { count, wait, lease, signal }: WithdrawOptions = {}) {
    const query = new URLSearchParams();
    if (count !== undefined) query.set("count", String(count));
    if (wait) query.set("wait", String(wait));
    if (lease !== undefined) query.set("lease", String(lease));
    const suffix = query.size > 0 ? `?${query}` : "";
    return this.#request<StoredWork | StoredWork[] | null>(
      "POST",
      `/work/withdraw${suffix}`,
      filter,
      { extraTimeoutSeconds: wait ?? 0, ...(signal ? { signal } : {}) },
    );
  }

  /** Records outcomes (from the worker holding each) or changes (from owners and admins). */
  async update(works: (OutcomeInput | (Partial<Work> & { id: string }))[]): Promise<true> {
    for (const [index, work] of works.entries()) {
      if ("command" in work) requireDataPlaceholders(work.command ?? undefined, `works[${index}]`);
    }
    await withRetries(() => this.#request("PUT", "/work", works), this.#retry);
    return true;
  }

  /** DELETE /work, a few hundred ids per request: the ids go in the URL, whose size is bounded. */
  async delete(ids: string[]): Promise<true> {
    for (let at = 0; at < ids.length; at += DELETE_IDS_PER_REQUEST) {
      const chunk = ids.slice(at, at + DELETE_IDS_PER_REQUEST);
      const query = new URLSearchParams(chunk.map((id): [string, string] => ["ids", id]));
      await withRetries(() => this.#request("DELETE", `/work?${query}`), this.#retry);
    }
    return true;
  }

  /**
   * POST /work/bulk: retry, cancel or delete what a query matches, refused past `confirmed` works.
   * Not retried on a lost answer: done again, the works it already did would count as refused.
   */
  bulk(request: BulkRequest): Promise<BulkResult> {
    return this.#request("POST", "/work/bulk", request);
  }

  view(query: Filter = {}, options: ViewOptions = {}): Promise<StoredWork[]> {
    return this.#request("POST", "/view", { query, ...options });
  }

  count(query: Filter = {}): Promise<number> {
    return this.#request("POST", "/view/count", { query });
  }

  status(): Promise<StatusCounts> {
    return this.#request("GET", "/status");
  }

  pipelines(): Promise<string[]> {
    return this.#request("GET", "/status/pipelines");
  }

  /** A pipeline's counts: total, queued, running, success and failure; `all` adds every status. */
  details(pipeline: string, { all = false }: { all?: boolean } = {}): Promise<StatusCounts> {
    const suffix = all ? "?all=true" : "";
    return this.#request("GET", `/status/details/${encodeURIComponent(pipeline)}${suffix}`);
  }

  /** Runs CHIME's audits; each answers how many works it moved. `staleDays` adds the stale audit. */
  async audit({ staleDays }: { staleDays?: number } = {}): Promise<Record<string, number>> {
    const failed = await this.#request<number>("GET", "/audit/failed");
    const expired = await this.#request<number>("GET", "/audit/expired");
    const stale =
      staleDays === undefined
        ? undefined
        : await this.#request<number>("GET", `/audit/stale/${staleDays}`);
    return { failed, expired, ...(stale === undefined ? {} : { stale }) };
  }

  /** Renews the lease of the attempt a worker holds; `cancel` tells it to stop. */
  heartbeat(held: Held): Promise<{ cancel: boolean }> {
    return this.#request("POST", attemptPath(held, "heartbeat"), undefined, claimHeaders(held));
  }

  /** Gives a claimed attempt back to the queue; it does not count against the work's retries. */
  async release(held: Held): Promise<true> {
    await this.#request("POST", attemptPath(held, "release"), undefined, claimHeaders(held));
    return true;
  }

  /** Asks the service to mint a token with its key (needs an admin token). */
  mintToken(request: MintRequest): Promise<{ token: string }> {
    return this.#request("POST", "/tokens", request);
  }

  async cancel(id: string): Promise<true> {
    await this.#request("POST", `/work/${encodeURIComponent(id)}/cancel`);
    return true;
  }

  /** Appends a batch of output to the attempt the worker holds. */
  async appendLogs(held: Held, lines: LogLine[]): Promise<true> {
    await this.#request("POST", attemptPath(held, "logs"), { lines }, claimHeaders(held));
    return true;
  }

  /** One page of an attempt's logs: from `after` (a previous page's `next`), at most `limit` lines. */
  logsPage(
    id: string,
    {
      attempt,
      after,
      limit,
    }: { attempt?: number | undefined; after?: string; limit?: number } = {},
  ): Promise<AttemptLogs> {
    const query = new URLSearchParams({ format: "json" });
    if (attempt !== undefined) query.set("attempt", String(attempt));
    if (after !== undefined) query.set("after", after);
    if (limit !== undefined) query.set("limit", String(limit));
    return this.#request("GET", `/work/${encodeURIComponent(id)}/logs?${query}`);
  }

  /** An attempt's logs page by page, oldest first (the latest attempt unless one is named). */
  async *logPages(id: string, attempt?: number): AsyncGenerator<AttemptLogs> {
    let after: string | undefined;
    do {
      const page = await this.logsPage(id, { attempt, ...(after ? { after } : {}) });
      yield page;
      // Later pages of the same attempt: the first page may have named the latest one.
      attempt = page.attempt;
      after = page.next;
    } while (after);
  }

  /** An attempt's logs, every page of them (the latest attempt unless one is named). */
  async logs(id: string, attempt?: number): Promise<AttemptLogs> {
    let all: AttemptLogs | undefined;
    for await (const page of this.logPages(id, attempt)) {
      if (all) all.lines.push(...page.lines);
      else all = { id: page.id, attempt: page.attempt, cut: page.cut, lines: [...page.lines] };
    }
    return all as AttemptLogs;
  }

  /**
   * Follows an attempt's logs as the service streams them (Server-Sent Events), calling `onLine`
   * for each line, until the attempt ends; answers which attempt it followed and how much of its
   * older output was cut.
   */
  async followLogs(
    id: string,
    onLine: (line: LogLine) => void,
    { attempt, signal }: { attempt?: number | undefined; signal?: AbortSignal } = {},
  ): Promise<{ attempt: number; cut: number; ended: boolean }> {
    const query = new URLSearchParams({ follow: "true" });
    if (attempt !== undefined) query.set("attempt", String(attempt));
    const path = `/work/${encodeURIComponent(id)}/logs?${query}`;
    const response = await fetch(`${await this.baseUrl()}${path}`, {
      headers: this.settings.token ? { authorization: `Bearer ${this.settings.token}` } : {},
      ...(signal ? { signal } : {}),
    });
    if (!response.ok || !response.body) {
      const body = (await response.json().catch(() => undefined)) as
        | { error?: { code?: string; message?: string } }
        | undefined;
      throw new BucketsError(
        response.status,
        body?.error?.code ?? "http_error",
        `GET ${path}: ${response.status} ${body?.error?.message ?? response.statusText}`,
      );
    }
    const seen = { attempt: attempt ?? 0, cut: 0, ended: false };
    for await (const { event, data } of readEvents(response.body)) {
      if (event === "start") Object.assign(seen, pick(data, ["attempt", "cut"]));
      else if (event === "line") onLine(data as LogLine);
      else if (event === "end") return { ...seen, ended: true };
      else if (event === "error")
        throw new BucketsError(
          503,
          "unavailable",
          `GET ${path}: ${String(pick(data, ["message"]).message)}`,
        );
    }
    return seen;
  }

  /** One work with its history and the last lines of its latest attempt's logs. */
  show(id: string): Promise<StoredWork & { logs: { attempt: number; lines: LogLine[] } }> {
    return this.#request("GET", `/work/${encodeURIComponent(id)}`);
  }

  /** Starts a run of a pipeline config (YAML text or an object): the run's id and its works' ids. */
  startRun(
    config: unknown,
    params?: Record<string, unknown>,
    { at }: { at?: number } = {},
  ): Promise<{ id: string; works: string[] }> {
    return this.#request("POST", "/runs", {
      config,
      ...(params ? { params } : {}),
      ...(at === undefined ? {} : { at }),
    });
  }

  /**
   * Deploys a config with `on:`: its cron triggers become schedules, each giving `params` to the
   * runs it starts; nothing runs now. `dryRun` checks it all and stores nothing.
   */
  deployConfig(
    config: Record<string, unknown>,
    { params, dryRun }: { params?: Record<string, unknown>; dryRun?: boolean } = {},
  ): Promise<{
    config: string;
    pipelines: string[];
    schedules: ScheduleDetail[];
    dryRun?: true;
  }> {
    const query = new URLSearchParams({
      ...(dryRun ? { dry_run: "true" } : {}),
      ...(params && Object.keys(params).length > 0 ? { params: JSON.stringify(params) } : {}),
    });
    return this.#request("POST", `/configs${query.size > 0 ? `?${query}` : ""}`, config);
  }

  /** Removes a deployed config: the schedules its `on:` made. */
  undeployConfig(name: string): Promise<true> {
    return this.#request("DELETE", `/configs?${new URLSearchParams({ name })}`);
  }

  /**
   * Every check `startRun` would pass on the service (this token's user, pipelines and sites, the
   * callback's target), storing nothing: what `workflow pipeline run --dry-run` asks.
   */
  checkRun(config: unknown, params?: Record<string, unknown>): Promise<RunCheck> {
    return this.#request("POST", "/runs?dry_run=true", { config, ...(params ? { params } : {}) });
  }

  /** What starting a run would do with each work (taken from the cache, or to run); writes nothing. */
  previewRun(
    config: unknown,
    params?: Record<string, unknown>,
  ): Promise<{ name: string; works: PreviewWork[] }> {
    return this.#request("POST", "/runs/preview", { config, ...(params ? { params } : {}) });
  }

  /** Makes cache entries unusable for reuse: a run's step (and after), a key, or a pipeline's older. */
  expireCache(request: ExpireRequest): Promise<ExpireResult> {
    return this.#request("POST", "/cache/expire", request);
  }

  /** Runs, newest first. */
  runs(
    filter: { name?: string; user?: string; status?: string; limit?: number } = {},
  ): Promise<RunSummary[]> {
    const query = new URLSearchParams(
      Object.entries(filter).flatMap(([k, v]): [string, string][] =>
        v === undefined ? [] : [[k, String(v)]],
      ),
    );
    return this.#request("GET", `/runs${query.size > 0 ? `?${query}` : ""}`);
  }

  /** A run with each step's counts by status, and its events. */
  run(id: string): Promise<RunSummary> {
    return this.#request("GET", `/runs/${encodeURIComponent(id)}`);
  }

  /** Each step's results and products (of one step, when named). */
  runOutputs(id: string, step?: string): Promise<RunOutputs> {
    const query = step === undefined ? "" : `?${new URLSearchParams({ step })}`;
    return this.#request("GET", `/runs/${encodeURIComponent(id)}/outputs${query}`);
  }

  cancelRun(id: string): Promise<{ id: string; cancelled: number }> {
    return this.#request("POST", `/runs/${encodeURIComponent(id)}/cancel`);
  }

  /** Re-runs a run's works: some steps (or one work), only failures, and what depends on them. */
  rerun(
    id: string,
    request: {
      steps?: string[];
      work?: string;
      downstream?: boolean;
      failedOnly?: boolean;
      unfinishedOnly?: boolean;
    } = {},
  ): Promise<{ id: string; works: number; steps: string[] }> {
    return this.#request("POST", `/runs/${encodeURIComponent(id)}/rerun`, request);
  }

  /** Pauses a run: nothing more of it is queued; its queued works go back to waiting. */
  pauseRun(id: string): Promise<{ id: string; paused: true; waiting: number }> {
    return this.#request("POST", `/runs/${encodeURIComponent(id)}/pause`);
  }

  resumeRun(id: string): Promise<{ id: string; paused: false }> {
    return this.#request("POST", `/runs/${encodeURIComponent(id)}/resume`);
  }

  /** Adds steps to a running run, or replaces its steps of the same name (which run again). */
  mergeSteps(
    id: string,
    steps: MergeStepsRequest["steps"],
  ): Promise<{ id: string; added: string[]; replaced: string[]; again: string[]; works: number }> {
    return this.#request("POST", `/runs/${encodeURIComponent(id)}/steps`, { steps });
  }

  /** Adds a schedule; with `dryRun` the service checks it and answers its next fire times only. */
  addSchedule(spec: ScheduleInput, { dryRun = false } = {}): Promise<ScheduleDetail> {
    return this.#request("POST", `/schedules${dryRun ? "?dry_run=true" : ""}`, spec);
  }

  schedules(): Promise<ScheduleView[]> {
    return this.#request("GET", "/schedules");
  }

  /** A schedule with its next 5 fire times and its last 20 ticks. */
  schedule(id: string): Promise<ScheduleDetail> {
    return this.#request("GET", `/schedules/${encodeURIComponent(id)}`);
  }

  pauseSchedule(id: string): Promise<ScheduleDetail> {
    return this.#request("POST", `/schedules/${encodeURIComponent(id)}/pause`);
  }

  resumeSchedule(id: string): Promise<ScheduleDetail> {
    return this.#request("POST", `/schedules/${encodeURIComponent(id)}/resume`);
  }

  removeSchedule(id: string): Promise<{ id: string; removed: true }> {
    return this.#request("DELETE", `/schedules/${encodeURIComponent(id)}`);
  }
}

/** The named fields of an event's data, when it is an object. */
function pick(data: unknown, keys: string[]): Record<string, unknown> {
  if (typeof data !== "object" || data === null) return {};
  return Object.fromEntries(
    keys.filter((k) => k in data).map((k) => [k, (data as Record<string, unknown>)[k]]),
  );
}
