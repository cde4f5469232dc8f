/** The pipeline configs' public surface: parsing, planning and fan-out. */

export {
  bareCondition,
  type ConditionFacts,
  conditionHolds,
  conditionProblem,
  STEP_RESULTS,
  type StepResult,
} from "./conditions.js";
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
  describeParams,
  PARAM_TYPES,
  type ParamSpec,
  type ParamType,
  paramSpecs,
  resolveParams,
} from "./params.js";
export {
  PipelineConfigError,
  type PlannedStep,
  type PlannedWork,
  parseConfigText,
  planRun,
  type RunPlan,
  TEMPLATED_FIELDS,
} from "./plan.js";
export { describeLimits, type RunLimits, runLimits, type StepLimits } from "./plan-limits.js";
export {
  type Condition,
  MAX_RUN_WORKS,
  MAX_STEPS,
  type PipelineConfig,
  PipelineConfigSchema,
  type Step,
} from "./schema.js";
export {
  type CronTrigger,
  isCron,
  MAX_TRIGGERS,
  RunAtSchema,
  releaseTime,
  runsByHand,
  type Trigger,
  TriggerSchema,
  triggerScheduleName,
} from "./triggers.js";
