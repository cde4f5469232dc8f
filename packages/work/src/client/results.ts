/** ResultsClient: the results store over HTTP, as CHIME's results client calls it. */

import {
  RESULTS_PREFIX,
  type ResultsCountRequest,
  type ResultsViewRequest,
} from "../results-requests.js";
import type { BucketsClientOptions, Filter, StoredWork } from "./client.js";
import { type RetryOptions, withRetries } from "./retry.js";
import { type ClientSettings, resolveClientSettings } from "./settings.js";
import { Transport } from "./transport.js";

export interface ResultsClientOptions extends BucketsClientOptions {
  /**
   * The results store's base URLs. Else the workspace's `http.baseurls.results`, else each buckets
   * URL with RESULTS_PREFIX: the store is part of the service.
   */
  resultsUrls?: string | string[] | undefined;
}

export type ResultsViewOptions = Omit<ResultsViewRequest, "query">;

/**
 * The results store over HTTP, with the requests CHIME's results client sends. Deposits, updates
 * and deletes retry: each is idempotent by work id.
 */
export class ResultsClient {
  readonly settings: Readonly<ClientSettings>;
  readonly #transport: Transport;
  readonly #retry: RetryOptions;

  constructor(options: ResultsClientOptions = {}) {
    const buckets = resolveClientSettings(options);
    const named = options.resultsUrls ?? options.workspace?.http?.baseurls?.results;
    const baseUrls = named
      ? [named].flat().map((url) => url.trim().replace(/\/+$/, ""))
      : buckets.baseUrls.map((url) => `${url}${RESULTS_PREFIX}`);
    this.settings = Object.freeze({ ...buckets, baseUrls });
    this.#retry = options.retry ?? {};
    this.#transport = new Transport(this.settings);
  }

  #request<T>(method: string, path: string, data?: unknown): Promise<T> {
    return this.#transport.request<T>(method, path, data);
  }

  version(): Promise<Record<string, unknown>> {
    return this.#request("GET", "/version");
  }

  /** Keeps finished works; one already kept stays as it was. Answers true per pipeline. */
  deposit(works: StoredWork[]): Promise<Record<string, true>> {
    return withRetries(() => this.#request("POST", "/results", works), this.#retry);
  }

  update(works: StoredWork[]): Promise<true> {
    return withRetries(() => this.#request("PUT", "/results", works), this.#retry);
  }

  /** Answers `{[pipeline]: true}`, as CHIME's client reads it. */
  delete(pipeline: string, ids: string[]): Promise<Record<string, true>> {
    const query = new URLSearchParams(ids.map((id): [string, string] => [pipeline, id]));
    return withRetries(() => this.#request("DELETE", `/results?${query}`), this.#retry);
  }

  view(pipeline: string, query: Filter = {}, options: ResultsViewOptions = {}) {
    const request: ResultsViewRequest = { query: { ...query, pipeline }, ...options };
    return this.#request<StoredWork[]>("POST", "/view", request);
  }

  count(pipeline: string, query: Filter = {}): Promise<number> {
    const request: ResultsCountRequest = { query: { ...query, pipeline } };
    return this.#request("POST", "/view/count", request);
  }

  /** How many results each pipeline keeps. */
  status(): Promise<Record<string, number>> {
    return this.#request("GET", "/status");
  }
}
