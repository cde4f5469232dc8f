/**
 * The service's errors. Their codes are the one registry's (ERROR_CODES in @workflow/work: one per
 * cause, shared with the clients that branch on them); `http/errors.ts` is the one place that turns
 * them into HTTP responses, each code's family deciding its status.
 */
import { ERROR_CODES, type ErrorCode, type ErrorFamily } from "@workflow/work";

export { ERROR_CODES, type ErrorCode, type ErrorFamily };

export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;
  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServiceError";
    this.code = code;
    this.details = options?.details;
  }
}

/** A refusal for `code`'s cause; `details` say more to a program (ids, the field). */
export const refuse = (code: ErrorCode, message: string, details?: unknown) =>
  new ServiceError(code, message, { details });

export const invalid = (message: string, details?: unknown) => refuse("invalid", message, details);
export const notFound = (message: string, details?: unknown) =>
  refuse("not_found", message, details);
export const tooLarge = (message: string) => refuse("too_large", message);

/**
 * The code of several refusals answered as one: theirs when they share it, else their family's
 * when they share one (its status is theirs), else `conflict`.
 */
export function commonCode(codes: readonly ErrorCode[]): ErrorCode {
  const [first] = codes;
  if (first === undefined) return "conflict";
  if (codes.every((code) => code === first)) return first;
  const family = ERROR_CODES[first].family;
  return codes.every((code) => ERROR_CODES[code].family === family) ? family : "conflict";
}
