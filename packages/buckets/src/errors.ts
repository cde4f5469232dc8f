/**
 * The error registry: every code the service answers with, and its HTTP status. Codes are stable;
 * a retired code is never reused. `http/errors.ts` is the one place that turns them into responses.
 */
export const ERROR_CODES = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServiceError";
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export const invalid = (message: string, details?: unknown) =>
  new ServiceError("invalid", message, { details });
export const unauthorized = (message: string) => new ServiceError("unauthorized", message);
export const forbidden = (message: string) => new ServiceError("forbidden", message);
export const notFound = (message: string, details?: unknown) =>
  new ServiceError("not_found", message, { details });
export const conflict = (message: string, details?: unknown) =>
  new ServiceError("conflict", message, { details });
export const tooLarge = (message: string) => new ServiceError("too_large", message);
