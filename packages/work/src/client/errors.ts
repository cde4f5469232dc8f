import type { ErrorCode } from "../error-codes.js";
import { WorkflowError } from "../errors.js";

/** One refused item of a batch: where it was in the request, its work, and why. */
export interface RefusedItem {
  index: number;
  id?: string;
  code: string;
  message: string;
}

/**
 * What the service (or the network) answered, as one typed error. `code` is the service's error
 * code (ERROR_CODES: one per cause), or the client's own when no answer came (`unreachable`,
 * `aborted`, `no_url`, or `http_error` for a proxy's answer without one); branch on it. `status`
 * is the HTTP status, or 0 when the service could not be reached.
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

  /** Whether the service answered one of these codes. */
  is(...codes: readonly ErrorCode[]): boolean {
    return (codes as readonly string[]).includes(this.code);
  }

  /**
   * The items of a batch that the service refused, each with its own code, when it names them
   * (PUT /work does: the items not named were recorded); undefined when the whole request was.
   */
  get refusedItems(): RefusedItem[] | undefined {
    const refused = (this.details as { refused?: unknown } | undefined)?.refused;
    if (!Array.isArray(refused)) return undefined;
    return refused.filter(
      (r): r is RefusedItem =>
        typeof r === "object" &&
        r !== null &&
        typeof r.index === "number" &&
        typeof r.code === "string",
    );
  }

  /** Worth trying again: the network failed, or the service or a proxy said "not now". */
  get retryable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}
