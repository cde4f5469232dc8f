/** The store's failures, in its own words; the service decides what each means to a client. */

import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";

/**
 * What the store says went wrong, in its own words: `unavailable` (MongoDB cannot be reached, or
 * has no primary), `too_large` (a document over MongoDB's limit), `refused` (MongoDB refused a
 * query or projection as written), `taken` (ids already used by other works). The service's one
 * error mapper (http/errors.ts) turns these into HTTP answers.
 */
export type StoreFailure = "unavailable" | "too_large" | "refused" | "taken";

export class StoreError extends Error {
  readonly failure: StoreFailure;
  readonly details?: unknown;
  constructor(
    failure: StoreFailure,
    message: string,
    options: { details?: unknown; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StoreError";
    this.failure = failure;
    this.details = options.details;
  }
}

/** Codes MongoDB uses while a replica set has no primary or a node is shutting down. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** A server error that a retry may not meet: no primary, shutting down, or a write concern not met. */
function isTransient(error: MongoServerError): boolean {
  if (error.hasErrorLabel("RetryableWriteError") || TRANSIENT_CODES.has(Number(error.code)))
    return true;
  if (error instanceof MongoBulkWriteError) {
    // No error of its own for any document: the batch failed as a whole (the network, a shutdown).
    if ([error.writeErrors].flat().length === 0) return true;
    const concern = error.result.getWriteConcernError();
    return concern !== undefined && (TRANSIENT_CODES.has(concern.code ?? 0) || concern.code === 64);
  }
  return false;
}

const TOO_LARGE_CODES = new Set([10334, 17419, 17420]);

function tooLarge(error: MongoServerError): boolean {
  const errors = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [error];
  return errors.some(
    (e) => TOO_LARGE_CODES.has(Number(e.code)) || /too large/i.test(String(e.errmsg)),
  );
}

/**
 * Codes with which MongoDB refuses a query or projection as written (bad values, path collisions,
 * inclusion mixed with exclusion, an expression with the wrong arguments): the request's fault, since
 * the service passes clients' queries and projections through after checking their shape.
 */
const REFUSED_REQUEST_CODES = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  16020, // an expression given the wrong number of arguments
  31249, // path collision in a projection
  31250, // path collision in a projection
  31253, // inclusion in an exclusion projection
  31254, // exclusion in an inclusion projection
]);

/** Names a driver error as the store's, or undefined when it is not the store's to name. */
export function toStoreError(error: unknown): StoreError | undefined {
  if (error instanceof StoreError) return error;
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    (error instanceof MongoServerError && isTransient(error))
  ) {
    return new StoreError("unavailable", "MongoDB is unavailable; retry shortly", { cause: error });
  }
  if (error instanceof MongoServerError && tooLarge(error)) {
    return new StoreError("too_large", "a work is larger than MongoDB's 16 MB document limit", {
      cause: error,
    });
  }
  if (error instanceof MongoServerError && REFUSED_REQUEST_CODES.has(Number(error.code))) {
    return new StoreError(
      "refused",
      `MongoDB refused the request: ${error.errmsg ?? error.message}`,
      {
        cause: error,
      },
    );
  }
  return undefined;
}

/** MongoDB (or the store) refused the documents themselves (too deep, too large), not reaching it. */
export function refusedDocuments(error: unknown): boolean {
  return (
    error instanceof StoreError ||
    ((error instanceof MongoServerError || error instanceof MongoBulkWriteError) &&
      !error.hasErrorLabel("RetryableWriteError"))
  );
}
