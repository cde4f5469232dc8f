export { expressionsIn, fill, parseReference, type Reference, readPath } from "./expressions.js";
export { type Growth, growthSummary } from "./fanout.js";
export {
  type GrownWork,
  growWorks,
  needsResolver,
  type Parent,
  type ParentWork,
} from "./grow.js";
export { type Combination, expandMatrix } from "./matrix.js";
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
