/** The service package's public surface: what tests, the bench and embedders import. */

export { buildApp } from "./app.js";
export { type Keys, resolveKeys } from "./auth/keys.js";
export {
  type MintOptions,
  mintToken,
  type Principal,
  SCOPES,
  type Scope,
  verifyToken,
} from "./auth/tokens.js";
export { ERROR_CODES, type ErrorCode, ServiceError } from "./errors.js";
export { renderErrorCodes, statusOf } from "./http/errors.js";
export { renderTransitions, TRANSITIONS } from "./machine.js";
export { readOptions, type ServiceOptions, ServiceOptionsSchema } from "./options.js";
export { RUN_TRANSITIONS, renderRunTransitions } from "./run-machine.js";
export { type RunningService, startService } from "./server.js";
