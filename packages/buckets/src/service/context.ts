import type { Workspace } from "@workflow/work";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Store } from "../store/index.js";
import type { ServiceEmitter } from "./events.js";

/** What the service logic needs; built once at start and shared by every request. */
export interface ServiceContext {
  store: Store;
  metrics: Metrics;
  logger: Logger;
  events: ServiceEmitter;
  /** Seconds a claim holds a work without a heartbeat. */
  leaseSeconds: number;
  /** Deposits must name one of its sites, when present. */
  workspace?: Workspace | undefined;
  /** Unix seconds; tests move time by backdating documents, not by replacing the clock. */
  now: () => number;
}

export const nowSeconds = () => Date.now() / 1000;

/** The most works one request may carry. */
export const MAX_BATCH = 10_000;
