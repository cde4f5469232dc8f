import { type ErrorFamily, WorkflowError } from "@workflow/work";
import type { ErrorRequestHandler, RequestHandler } from "express";
import { ERROR_CODES, type ErrorCode, ServiceError } from "../errors.js";
import { QueryError } from "../query.js";
import { fromStore } from "../service/store-failures.js";
import { BODY_LIMIT, MAX_BODY_KEYS } from "./body.js";

const BODY_LIMIT_MB = BODY_LIMIT / 1024 / 1024;

/**
 * Each family's HTTP status: a code's status is its family's. Statuses never change for a cause
 * (clients that know only statuses, CHIME's, branch on them); new causes get new codes.
 */
const STATUS_OF_FAMILY: Record<ErrorFamily, number> = {
  invalid: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  too_many_requests: 429,
  unavailable: 503,
  internal: 500,
};

export const statusOf = (code: ErrorCode): number => STATUS_OF_FAMILY[ERROR_CODES[code].family];

/** Families whose answers carry `Retry-After`. */
const RETRY_LATER = new Set<ErrorFamily>(["unavailable", "too_many_requests"]);

/** The registry as Markdown, for the README: a test checks that the README shows this one. */
export function renderErrorCodes(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, cause]) => `| \`${code}\` | ${STATUS_OF_FAMILY[cause.family]} | ${cause.means} |`,
  );
  return ["| code | status | cause |", "| --- | --- | --- |", ...rows].join("\n");
}

/** Seconds a caller should wait after a 503 or a 429 before trying again. */
export const RETRY_AFTER_SECONDS = 2;

/** The one place where errors become HTTP responses: `{error: {code, message, details?}}`. */
export const errorHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const known = toServiceError(error);
  if (known.code === "internal") req.log.error({ err: error }, "request failed");
  else if (known.code === "unavailable") req.log.warn({ err: error }, known.message);
  else req.log.debug({ code: known.code }, known.message);
  if (res.headersSent) return;
  if (RETRY_LATER.has(ERROR_CODES[known.code].family))
    res.set("Retry-After", String(RETRY_AFTER_SECONDS));
  const body = {
    code: known.code,
    message: known.message,
    ...(known.details === undefined ? {} : { details: known.details }),
  };
  res.status(statusOf(known.code)).json({ error: body });
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new ServiceError("no_route", `no route ${req.method} ${req.path}; see GET /openapi.json`));
};

function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error instanceof QueryError)
    return new ServiceError("invalid", error.message, { details: { path: error.path } });
  if (error instanceof WorkflowError)
    return new ServiceError("invalid", error.message, { details: error.details });
  const parser = bodyParserError(error);
  if (parser) return parser;
  const stored = fromStore(error);
  if (stored) return stored;
  return (
    clientError(error) ??
    new ServiceError("internal", "internal error; the service logged it with this request's id")
  );
}

const FAMILY_OF_STATUS = new Map(
  Object.entries(STATUS_OF_FAMILY).map(([family, status]) => [status, family as ErrorFamily]),
);

/**
 * Any other error that says the request was at fault (a 4xx `status`, as express's router sets on
 * a malformed `%` escape in a path) keeps that status, or 400 when the registry has no code for it.
 */
function clientError(error: unknown): ServiceError | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { status, statusCode, message } = error as {
    status?: unknown;
    statusCode?: unknown;
    message?: unknown;
  };
  const given = typeof status === "number" ? status : statusCode;
  if (typeof given !== "number" || given < 400 || given > 499) return undefined;
  const code = FAMILY_OF_STATUS.get(given) ?? "invalid";
  const reason = typeof message === "string" && message ? message : "the request was refused";
  return new ServiceError(code, `the request could not be read: ${reason}`, { cause: error });
}

/** Errors from express.json() carry a `type` and a 4xx status. */
function bodyParserError(error: unknown): ServiceError | undefined {
  if (typeof error !== "object" || error === null || !("type" in error)) return undefined;
  const { type, message } = error as { type: unknown; message: string };
  switch (type) {
    case "entity.too.large":
      return new ServiceError(
        "too_large",
        // The body is refused unread, so how many works it holds is unknown: one work this
        // large could never be stored, and splitting would not help it.
        `the body is over the ${BODY_LIMIT_MB} MB limit: no one work can be this large (MongoDB holds ${BODY_LIMIT_MB} MB a work), so keep large data in files and pass their paths in parameters; a request of many smaller works can be sent in several`,
      );
    case "entity.keys.too_many":
      return new ServiceError(
        "too_large",
        `the body holds more than ${MAX_BODY_KEYS} keys (MAX_BODY_KEYS): keep large data in files and pass their paths in parameters; a request of many works can be sent in several`,
      );
    case "entity.parse.failed":
      return new ServiceError("invalid", `the body is not valid JSON: ${message}`);
    case "encoding.unsupported":
    case "charset.unsupported":
    case "request.aborted":
    case "request.size.invalid":
    case "entity.verify.failed":
      return new ServiceError("invalid", `the body could not be read: ${message}`);
    default:
      return undefined;
  }
}
