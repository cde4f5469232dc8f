/** How a pipeline config is refused: one error class, and one way of naming a step. */

import { WorkflowError } from "../errors.js";
import type { Step } from "./schema.js";

/** A config the service refuses; the message names the step and the field. */
export class PipelineConfigError extends WorkflowError {
  constructor(message: string, details?: unknown) {
    super("invalid", message, { details });
  }
}

/** How a config's errors name a step. */
export const label = (step: Step, index: number) =>
  `step "${step.name}" (pipeline.steps[${index}])`;
