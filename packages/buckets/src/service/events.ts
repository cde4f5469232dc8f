/**
 * The service's in-process events: works queued (to wake waiting withdraws) and background
 * failures.
 */

import { EventEmitter } from "node:events";

/** What the service announces inside one process. */
export interface ServiceEvents {
  /**
   * Works became claimable (deposited, or put back in the queue now), in these pipelines when the
   * emitter knows them: only waiters that could want them then try to claim.
   */
  "work:queued": [pipelines?: string[]];
  /** A background task failed; it goes on, and the error is logged. */
  "task:error": [task: string, error: unknown];
}

export type ServiceEmitter = EventEmitter<ServiceEvents>;

export const createEmitter = (): ServiceEmitter => new EventEmitter<ServiceEvents>();
