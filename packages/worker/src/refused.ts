import type { BucketsError } from "@workflow/work";

/** The service refused the worker's token, or its scope or pipelines; the message says which. */
export class WorkerRefusedError extends Error {
  /** The service's code: why it refused. */
  readonly code: string;
  readonly status: number;
  constructor(error: BucketsError, pipelines: readonly string[]) {
    super(
      error.is("scope_missing", "pipeline_refused")
        ? `this worker's token may not serve pipelines ${pipelines.join(", ")} (${error.message}): mint one with the work:withdraw scope for them`
        : `the service refused this worker's token (${error.message}): give a valid, unexpired token with --token or WORKFLOW_HTTP_TOKEN`,
    );
    this.name = "WorkerRefusedError";
    this.code = error.code;
    this.status = error.status;
  }
}

export { isRefusal } from "./ownership.js";
