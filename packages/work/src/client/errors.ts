import { WorkflowError } from "../errors.js";

/**
 * What the service (or the network) answered, as one typed error. `status` is the HTTP status, or
 * 0 when the service could not be reached; `code` is the service's error code.
 */
export class BucketsError extends WorkflowError {
  readonly status: number;
  /** From a 503's Retry-After header. */
  readonly retryAfterSeconds: number | undefined;
  constructor(
    status: number,
    code: string,
    message: string,
    options?: { cause?: unknown; details?: unknown; retryAfterSeconds?: number | undefined },
  ) {
    super(code, message, options);
    this.status = status;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** Worth trying again: the network failed, or the service or a proxy said "not now". */
  get retryable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}
