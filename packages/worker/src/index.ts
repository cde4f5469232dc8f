/** The worker package's public surface: the daemon and its parts, for tests and embedders. */

export {
  filterOf,
  type StartWorkerOptions,
  startWorker,
  type WorkerHandle,
  WorkerRefusedError,
} from "./daemon.js";
export { createLogger, type Logger } from "./logger.js";
export { type ResolvedWorkerOptions, type WorkerOptions, WorkerOptionsSchema } from "./options.js";
export { createReporter, type Reporter, toUpdate } from "./report.js";
export { runWork } from "./run.js";
export { toArgv } from "./runner/command.js";
export { fromReturn } from "./runner/function.js";
export type { Outcome } from "./runner/outcome.js";
export {
  describe as describeForSlack,
  notifySlack,
  resolveSlackSettings,
  type SlackSettings,
} from "./slack.js";
