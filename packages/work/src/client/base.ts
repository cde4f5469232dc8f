/**
 * What every part of the client shares: its settings, its one transport (token, base URL,
 * timeouts, errors) and its retry policy. The calls themselves live by job in ./works.ts,
 * ./logs.ts, ./runs.ts and ./client.ts.
 */

import { CLAIM_HEADER } from "../requests.js";
import type { Work } from "../schema.js";
import type { RetryOptions } from "./retry.js";
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

/**
 * A work as the service shows it. `claim` only on a work that withdraw answered: the claim secret
 * that the worker sends back with everything it does for that attempt.
 */
export type StoredWork = Work & { id: string; claim?: string };

/** The attempt a worker holds, as withdraw answered it. */
export type Held = Pick<StoredWork, "id" | "attempt" | "claim"> & { pipeline?: string | undefined };

export const claimHeaders = ({ claim }: Held) =>
  claim ? { headers: { [CLAIM_HEADER]: claim } } : {};
export const attemptPath = ({ id, attempt, pipeline }: Held, action: string) =>
  `/work/${encodeURIComponent(id)}/${action}?attempt=${attempt}${pipeline ? `&pipeline=${encodeURIComponent(pipeline)}` : ""}`;

export class ClientCore {
  readonly settings: Readonly<ClientSettings>;
  protected readonly transport: Transport;
  protected readonly retry: RetryOptions;

  constructor(options: BucketsClientOptions = {}) {
    this.settings = Object.freeze(resolveClientSettings(options));
    this.retry = options.retry ?? {};
    this.transport = new Transport(this.settings, options.workerId);
  }

  /** The first base URL that answers GET /version; the choice is kept for later calls. */
  baseUrl(): Promise<string> {
    return this.transport.baseUrl();
  }

  protected call<T>(
    method: string,
    path: string,
    data?: unknown,
    options?: RequestOptions,
  ): Promise<T> {
    return this.transport.request<T>(method, path, data, options);
  }
}
