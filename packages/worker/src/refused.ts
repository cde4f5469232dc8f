import type { BucketsError } from "@workflow/work";

/** The service refused the worker's token (401) or its scope (403); the message says which. */
export class WorkerRefusedError extends Error {
  readonly status: number;
  constructor(error: BucketsError, pipelines: readonly string[]) {
    super(
      error.status === 401
        ? `the service refused this worker's token (${error.message}): give a valid, unexpired token with --token or WORKFLOW_HTTP_TOKEN`
        : `this worker's token may not serve pipelines ${pipelines.join(", ")} (${error.message}): mint one with the work:withdraw scope for them`,
    );
    this.name = "WorkerRefusedError";
    this.status = error.status;
  }
}

export { isRefusal } from "./ownership.js";
