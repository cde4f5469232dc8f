import {
  MongoBulkWriteError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from "mongodb";
import { ServiceError } from "../errors.js";

/** Codes MongoDB uses while a replica set has no primary or a node is shutting down. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

/** Turns a driver error into the service's error, or undefined when it is not the store's to name. */
export function fromDriverError(error: unknown): ServiceError | undefined {
  if (
    error instanceof MongoServerSelectionError ||
    error instanceof MongoNetworkError ||
    error instanceof MongoNotConnectedError ||
    error instanceof MongoTopologyClosedError ||
    (error instanceof MongoServerError && TRANSIENT_CODES.has(Number(error.code)))
  ) {
    return new ServiceError("unavailable", "MongoDB is unavailable; retry shortly", {
      cause: error,
    });
  }
  if (error instanceof MongoServerError && !(error instanceof MongoBulkWriteError)) {
    if (error.code === 10334 || error.codeName === "BSONObjectTooLarge") {
      return new ServiceError(
        "too_large",
        "the work is larger than MongoDB's 16 MB document limit",
        {
          cause: error,
        },
      );
    }
  }
  return undefined;
}
