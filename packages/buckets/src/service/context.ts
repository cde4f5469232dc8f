/** What every part of the service logic shares, built once at start. */

import type { Workspace } from "@workflow/work";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/index.js";

import type { ServiceEmitter } from "./events.js";
import type { CallbackPolicy } from "./runs/callback-target.js";

/** What the service logic needs; built once at start and shared by every request. */
export interface ServiceContext {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  events: ServiceEmitter;
  /** The lease of a withdraw that asks for one (`?lease`) without saying how long, in seconds. */
  leaseSeconds: number;
  /** Deposits must name one of its sites, when present. */
  workspace?: Workspace | undefined;
  /** Unix seconds on MongoDB's clock, which every instance shares (see clock.ts). */
  now: () => number;
  /** Signs run callbacks (HMAC-SHA256); unset, callbacks go unsigned. */
  callbackSecret?: string | undefined;
  /** Where runs' callbacks may point (BUCKETS_CALLBACK_ALLOW); unset, no special address. */
  callbackPolicy?: CallbackPolicy | undefined;
  /** Posts runs' Slack messages; unset, a config that asks for Slack is refused. */
  slack?: { token: string; apiUrl: string } | undefined;
  /**
   * Called at the named points of multi-write operations (`merge:stored`, `merge:replaced`); a
   * test that throws there stops the operation as a crash would. Unset outside tests.
   */
  failpoint?: ((at: string) => void) | undefined;
}

/** The most one work may weigh as MongoDB stores it: so the most one request body may. */
export { MAX_DOCUMENT_BYTES } from "../store/index.js";

/** The most works one request may carry. */
export const MAX_BATCH = 10_000;
