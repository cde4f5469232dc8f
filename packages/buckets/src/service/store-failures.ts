/**
 * The store's failures as the service's errors. The store names what went wrong in its own words
 * (StoreError, or a driver error it recognises); the service says which cause that is, so the
 * HTTP layer never reads the store.
 */
import { type ErrorCode, ServiceError } from "../errors.js";
import { type StoreFailure, toStoreError } from "../store/index.js";

const CODE_OF_FAILURE: Record<StoreFailure, ErrorCode> = {
  unavailable: "unavailable",
  too_large: "too_large",
  refused: "invalid",
  taken: "id_taken",
};

/** The service's error for a failure of the store; undefined when `error` is none. */
export function fromStore(error: unknown): ServiceError | undefined {
  const stored = toStoreError(error);
  if (!stored) return undefined;
  return new ServiceError(CODE_OF_FAILURE[stored.failure], stored.message, {
    details: stored.details,
    cause: error,
  });
}
