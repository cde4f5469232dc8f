/**
 * The package's public surface, shared by the service and the worker (the dashboard imports
 * subpaths only).
 */

export {
  type ActivityMinutes,
  ActivityMinutesSchema,
  type AuditAnswer,
  AuditAnswerSchema,
  type AuditCount,
  AuditCountSchema,
  AuditDaysSchema,
  type AuditDetails,
  AuditDetailsSchema,
  CONTACT_VIAS,
  type ContactVia,
  type PipelineCounts,
  PipelineCountsSchema,
  type PipelineDetails,
  PipelineDetailsSchema,
  PipelineNamesSchema,
  StatusCountsSchema,
  type WorkerSeen,
  WorkerSeenSchema,
} from "./activity-answers.js";
export {
  type Cache,
  CachedSchema,
  CacheSchema,
  DURATION_HELP,
  DurationSchema,
  parseDuration,
} from "./cache.js";
export {
  canonicalJson,
  KEY_PREFIX,
  type KeyedWork,
  type ParentWork,
  parentDigest,
  workKey,
} from "./cache-key.js";
export {
  type ExpireRequest,
  ExpireRequestSchema,
  type ExpireResult,
  ExpireResultSchema,
  type PreviewAnswer,
  PreviewAnswerSchema,
  type PreviewWork,
  PreviewWorkSchema,
} from "./cache-requests.js";
export * from "./chime-requests.js";
export {
  type BatchOptions,
  DEPOSIT_BATCH,
  DEPOSITS_IN_FLIGHT,
  inBatches,
} from "./client/batches.js";
export { type BulkProgress, bulkInPages } from "./client/bulk.js";
export {
  type Audits,
  BucketsClient,
  type BucketsClientOptions,
  type DepositManyOptions,
  type DepositOptions,
  type Filter,
  type Held,
  type RunListFilter,
  type StatusCounts,
  type StoredWork,
  type ViewOptions,
  type WithdrawOptions,
} from "./client/client.js";
export { BucketsError, type RefusedItem } from "./client/errors.js";
export {
  ResultsClient,
  type ResultsClientOptions,
  type ResultsViewOptions,
} from "./client/results.js";
export { type RetryOptions, withRetries } from "./client/retry.js";
export {
  type ClientSettings,
  childEnv,
  DEFAULT_TIMEOUT_SECONDS,
  resolveClientSettings,
  SECRET_VARIABLES,
  TOKEN_VARIABLES,
} from "./client/settings.js";
export {
  FINISHED,
  TRANSFER_BATCH,
  type TransferOptions,
  type Transferred,
  transferFinished,
} from "./client/transfer.js";
export { type CreateWorkOptions, createWork } from "./create.js";
export {
  type DurationUnit,
  SECONDS_PER_DAY,
  spokenDuration,
  UNIT_SECONDS,
} from "./durations.js";
export {
  ERROR_CODES,
  ERROR_FAMILIES,
  type ErrorCode,
  type ErrorFamily,
  errorFamily,
  isErrorCode,
} from "./error-codes.js";
export {
  formatIssues,
  InvalidWorkError,
  SettingError,
  WorkflowError,
  WorkspaceError,
} from "./errors.js";
export {
  FreeArraySchema,
  FreeObjectSchema,
  type JsonPath,
  MAX_DEPTH,
  MAX_FREE_KEYS,
  pathText,
  protoKeyAt,
  tooDeepAt,
} from "./free.js";
export {
  type AttemptLogs,
  LOG_LINE_OVERHEAD_BYTES,
  LOG_STREAMS,
  LogAppendSchema,
  type LogLine,
  LogLineSchema,
  type LogStream,
  MAX_LOG_BATCH_CHARS,
  MAX_LOG_BATCH_LINES,
  MAX_LOG_BYTES_PER_ATTEMPT,
  MAX_LOG_LINE_CHARS,
  MAX_LOG_LINES_PER_ATTEMPT,
  MAX_LOG_PAGE_LINES,
} from "./logs.js";
export {
  type HealthAnswer,
  HealthAnswerSchema,
  type OpenApiAnswer,
  OpenApiAnswerSchema,
  type VersionAnswer,
  VersionAnswerSchema,
} from "./ops-answers.js";
export { toPayload, type WorkPayload, withoutStrategy } from "./payload.js";
export { exitQuietlyWhenPipeCloses } from "./pipe.js";
export * from "./pipeline/index.js";
export { PlaceholderError, placeholderProblem, toArgv } from "./placeholders.js";
export {
  AttemptParamsSchema,
  BULK_ACTIONS,
  BULK_PAGE_WORKS,
  type BulkRequest,
  BulkRequestSchema,
  type BulkResult,
  BulkResultSchema,
  CLAIM_HEADER,
  ClaimSecretSchema,
  CountRequestSchema,
  LIFETIME_HELP,
  LIFETIME_PATTERN,
  MAX_CLAIM_COUNT,
  MAX_LEASE_SECONDS,
  MAX_VIEW_LIMIT,
  MAX_WAIT_SECONDS,
  type MintAnswer,
  MintAnswerSchema,
  type MintRequest,
  MintRequestSchema,
  type OutcomeInput,
  OutcomeSchema,
  QueryFlagSchema,
  SCOPES,
  type Scope,
  ScopeSchema,
  type ViewRequest,
  ViewRequestSchema,
  type WithdrawFilter,
  WithdrawFilterSchema,
  type WithdrawParams,
  WithdrawParamsSchema,
} from "./requests.js";
export {
  checkResultsSize,
  type DroppedResults,
  droppedBytesOf,
  droppedResults,
  RESULTS_MAX_BYTES,
  resultsSize,
} from "./results.js";
export {
  RESULT_STATUSES,
  RESULTS_PREFIX,
  type ResultsCountRequest,
  ResultsCountRequestSchema,
  ResultsDeleteParamsSchema,
  ResultsDepositAnswerSchema,
  type ResultsViewRequest,
  ResultsViewRequestSchema,
} from "./results-requests.js";
export {
  type RunOutputs,
  type RunOutputsParams,
  RunOutputsParamsSchema,
  RunOutputsSchema,
  type WorkOutputs,
  WorkOutputsSchema,
} from "./run-outputs.js";
export * from "./runs-requests.js";
export * from "./schedule.js";
export {
  ARCHIVE_METHODS,
  ArchiveMethodSchema,
  ArchiveSchema,
  type Config,
  ConfigSchema,
  FUNCTION_MAX_LENGTH,
  FunctionSchema,
  HISTORY_LIMIT,
  type HistoryEntry,
  HistoryEntrySchema,
  hasRetriesLeft,
  type Notify,
  NotifySchema,
  ObjectIdSchema,
  PipelineSchema,
  type Slack,
  SlackSchema,
  type Status,
  StatusSchema,
  type Work,
  WorkFieldsSchema,
  type WorkInput,
  WorkSchema,
} from "./schema.js";
export { DEFAULT_SECRETS_DIR, Settings, type SettingsOptions } from "./settings.js";
export {
  FINISHED_STATUSES,
  RUN_STATUSES,
  type RunStatus,
  STATUSES,
  UNFINISHED_STATUSES,
} from "./statuses.js";
export {
  DEFAULT_WORKSPACE_PATH,
  loadWorkspace,
  type Workspace,
  WorkspaceSchema,
  workspacePath,
} from "./workspace.js";
