/** The client's calls on works, the part every other part of the client builds on. */

import type { AuditCount, PipelineDetails, StatusCounts } from "../activity-answers.js";
import type { LogLine } from "../logs.js";
import type {
  BulkRequest,
  BulkResult,
  MintAnswer,
  MintRequest,
  OutcomeInput,
  ViewRequest,
  WithdrawFilter,
} from "../requests.js";
import type { Work, WorkInput } from "../schema.js";
import { attemptPath, ClientCore, claimHeaders, type Held, type StoredWork } from "./base.js";
import { DEPOSIT_BATCH, DEPOSITS_IN_FLIGHT, inBatches } from "./batches.js";
import { type DepositPayload, requireDataPlaceholders, toPayloads } from "./payloads.js";
import { withRetries } from "./retry.js";

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
export type { StatusCounts };
/** What `audit()` ran: each audit's plain answer (GET /audit/failed, /expired, /stale/:days). */
export interface Audits {
  failed: AuditCount;
  expired: AuditCount;
  stale?: AuditCount;
}

/** Ids per DELETE /work: about 5 KB of URL, well within any server's bound on request headers. */
const DELETE_IDS_PER_REQUEST = 200;

/** The calls on works: deposit, claim, report, watch, count and audit. */
export class WorksClient extends ClientCore {
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
    await withRetries(() => this.call("POST", "/work", payloads), this.retry);
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
    return this.call<StoredWork | StoredWork[] | null>("POST", `/work/withdraw${suffix}`, filter, {
      extraTimeoutSeconds: wait ?? 0,
      ...(signal ? { signal } : {}),
    });
  }

  /** Records outcomes (from the worker holding each) or changes (from owners and admins). */
  async update(works: (OutcomeInput | (Partial<Work> & { id: string }))[]): Promise<true> {
    for (const [index, work] of works.entries()) {
      if ("command" in work) requireDataPlaceholders(work.command ?? undefined, `works[${index}]`);
    }
    await withRetries(() => this.call("PUT", "/work", works), this.retry);
    return true;
  }

  /** DELETE /work, a few hundred ids per request: the ids go in the URL, whose size is bounded. */
  async delete(ids: string[]): Promise<true> {
    for (let at = 0; at < ids.length; at += DELETE_IDS_PER_REQUEST) {
      const chunk = ids.slice(at, at + DELETE_IDS_PER_REQUEST);
      const query = new URLSearchParams(chunk.map((id): [string, string] => ["ids", id]));
      await withRetries(() => this.call("DELETE", `/work?${query}`), this.retry);
    }
    return true;
  }

  /**
   * POST /work/bulk: retry, cancel or delete what a query matches, refused past `confirmed` works.
   * Not retried on a lost answer: done again, the works it already did would count as refused.
   */
  bulk(request: BulkRequest): Promise<BulkResult> {
    return this.call("POST", "/work/bulk", request);
  }

  view(query: Filter = {}, options: ViewOptions = {}): Promise<StoredWork[]> {
    return this.call("POST", "/view", { query, ...options });
  }

  count(query: Filter = {}): Promise<number> {
    return this.call("POST", "/view/count", { query });
  }

  status(): Promise<StatusCounts> {
    return this.call("GET", "/status");
  }

  pipelines(): Promise<string[]> {
    return this.call("GET", "/status/pipelines");
  }

  /** A pipeline's counts: total, queued, running, success and failure; `all` adds every status. */
  details(pipeline: string, { all = false }: { all?: boolean } = {}): Promise<PipelineDetails> {
    const suffix = all ? "?all=true" : "";
    return this.call("GET", `/status/details/${encodeURIComponent(pipeline)}${suffix}`);
  }

  /** Runs CHIME's audits; each answers how many works it moved. `staleDays` adds the stale audit. */
  async audit({ staleDays }: { staleDays?: number } = {}): Promise<Audits> {
    const failed = await this.call<AuditCount>("GET", "/audit/failed");
    const expired = await this.call<AuditCount>("GET", "/audit/expired");
    const stale =
      staleDays === undefined
        ? undefined
        : await this.call<AuditCount>("GET", `/audit/stale/${staleDays}`);
    return { failed, expired, ...(stale === undefined ? {} : { stale }) };
  }

  /** Renews the lease of the attempt a worker holds; `cancel` tells it to stop. */
  heartbeat(held: Held): Promise<{ cancel: boolean }> {
    return this.call("POST", attemptPath(held, "heartbeat"), undefined, claimHeaders(held));
  }

  /** Gives a claimed attempt back to the queue; it does not count against the work's retries. */
  async release(held: Held): Promise<true> {
    await this.call("POST", attemptPath(held, "release"), undefined, claimHeaders(held));
    return true;
  }

  /** Asks the service to mint a token with its key (needs an admin token). */
  mintToken(request: MintRequest): Promise<MintAnswer> {
    return this.call("POST", "/tokens", request);
  }

  async cancel(id: string): Promise<true> {
    await this.call("POST", `/work/${encodeURIComponent(id)}/cancel`);
    return true;
  }

  /** One work with its history and the last lines of its latest attempt's logs. */
  show(id: string): Promise<StoredWork & { logs: { attempt: number; lines: LogLine[] } }> {
    return this.call("GET", `/work/${encodeURIComponent(id)}`);
  }
}
