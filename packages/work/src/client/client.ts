/** BucketsClient: the service's whole API as typed calls, its parts by job joined in one class. */

import type { ScheduleDetail, ScheduleInput, ScheduleRemoved, ScheduleView } from "../schedule.js";
import { RunsClient } from "./runs.js";

export type {
  BucketsClientOptions,
  Held,
  StoredWork,
} from "./base.js";
export type { Followed } from "./logs.js";
export type { RunListFilter } from "./runs.js";
export type {
  Audits,
  DepositManyOptions,
  DepositOptions,
  Filter,
  StatusCounts,
  ViewOptions,
  WithdrawOptions,
} from "./works.js";

/**
 * The buckets service over HTTP. Every call has a timeout; deposits, updates and deletes retry.
 * Its calls live by job: works (./works.ts), logs (./logs.ts), runs (./runs.ts), and schedules
 * here; their request and answer types are the zod schemas' the service parses with.
 */
export class BucketsClient extends RunsClient {
  /** Adds a schedule; with `dryRun` the service checks it and answers its next fire times only. */
  addSchedule(spec: ScheduleInput, { dryRun = false } = {}): Promise<ScheduleDetail> {
    return this.call("POST", `/schedules${dryRun ? "?dry_run=true" : ""}`, spec);
  }

  schedules(): Promise<ScheduleView[]> {
    return this.call("GET", "/schedules");
  }

  /** A schedule with its next 5 fire times and its last 20 ticks. */
  schedule(id: string): Promise<ScheduleDetail> {
    return this.call("GET", `/schedules/${encodeURIComponent(id)}`);
  }

  pauseSchedule(id: string): Promise<ScheduleDetail> {
    return this.call("POST", `/schedules/${encodeURIComponent(id)}/pause`);
  }

  resumeSchedule(id: string): Promise<ScheduleDetail> {
    return this.call("POST", `/schedules/${encodeURIComponent(id)}/resume`);
  }

  removeSchedule(id: string): Promise<ScheduleRemoved> {
    return this.call("DELETE", `/schedules/${encodeURIComponent(id)}`);
  }
}
