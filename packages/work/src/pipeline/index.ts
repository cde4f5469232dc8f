export { expressionsIn, fill, parseReference, type Reference, readPath } from "./expressions.js";
export { type Growth, growthSummary } from "./fanout.js";
export {
  type GrownWork,
  growWorks,
  needsResolver,
  type Parent,
  type ParentWork,
} from "./grow.js";
export {
  MAX_RUN_TIMEOUT_SECONDS,
  RunMaxParallelSchema,
  RunTimeoutSchema,
  timeoutSeconds,
} from "./limits.js";
export { type Combination, expandMatrix } from "./matrix.js";
export {
  type MergedConfig,
  type MergeStepsRequest,
  MergeStepsSchema,
  mergeSteps,
  stepsOf,
} from "./merge.js";
export {
  PipelineConfigError,
  type PlannedStep,
  type PlannedWork,
  parseConfigText,
  planRun,
  type RunPlan,
  TEMPLATED_FIELDS,
} from "./plan.js";
export {
  type Condition,
  MAX_RUN_WORKS,
  MAX_STEPS,
  type PipelineConfig,
  PipelineConfigSchema,
  type Step,
} from "./schema.js";
