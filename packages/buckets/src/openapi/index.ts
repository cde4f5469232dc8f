/** Assembles the OpenAPI document from its parts, also served under CHIME's `/v2` base. */

import {
  ActivityMinutesSchema,
  AuditAnswerSchema,
  BulkRequestSchema,
  BulkResultSchema,
  ChimeConfigListSchema,
  ChimeScheduleConfigSchema,
  ChimeScheduleCountsSchema,
  ChimeScheduleIdsSchema,
  ChimeScheduleListSchema,
  ConfigCountSchema,
  ConfigDeployAnswerSchema,
  ConfigRemovedSchema,
  ConfigStoppedSchema,
  CountRequestSchema,
  CreateRunSchema,
  ExpireRequestSchema,
  ExpireResultSchema,
  HealthAnswerSchema,
  MergeStepsSchema,
  MintAnswerSchema,
  MintRequestSchema,
  type OpenApiAnswer,
  OpenApiAnswerSchema,
  OutcomeSchema,
  PipelineConfigSchema,
  PipelineCountsSchema,
  PipelineDetailsSchema,
  PipelineNamesSchema,
  PreviewAnswerSchema,
  RerunAnswerSchema,
  RerunSchema,
  ResultsCountRequestSchema,
  ResultsDepositAnswerSchema,
  ResultsViewRequestSchema,
  RunCancelledSchema,
  RunCheckSchema,
  RunCreatedSchema,
  RunOutputsSchema,
  RunPausedSchema,
  RunResumedSchema,
  RunSummarySchema,
  ScheduleDetailSchema,
  ScheduleRemovedSchema,
  ScheduleSpecSchema,
  ScheduleViewSchema,
  StatusCountsSchema,
  StepsMergedSchema,
  VersionAnswerSchema,
  ViewRequestSchema,
  WorkerSeenSchema,
  WorkSchema,
} from "@workflow/work";
import type { z } from "zod";
import { VERSION } from "../version.js";
import { ErrorSchema, type JsonSchema, schema } from "./build.js";
import { cachePaths } from "./cache.js";
import { opsPaths } from "./ops.js";
import { pipelinePaths } from "./pipelines.js";
import { resultPaths } from "./results.js";
import { runOutputPaths } from "./run-outputs.js";
import { workPaths } from "./work.js";

/** A schema read as the service parses a request with it, or as it sends an answer it made. */
type Component = readonly [z.ZodType, "input" | "output"];
const parsed = <T extends z.ZodType>(zod: T) => [zod, "input"] as const;
const sent = <T extends z.ZodType>(zod: T) => [zod, "output"] as const;

export const COMPONENTS = {
  Work: parsed(WorkSchema),
  StoredWork: sent(WorkSchema),
  ViewRequest: parsed(ViewRequestSchema),
  CountRequest: parsed(CountRequestSchema),
  BulkRequest: parsed(BulkRequestSchema),
  BulkResult: sent(BulkResultSchema),
  ExpireRequest: parsed(ExpireRequestSchema),
  ExpireResult: sent(ExpireResultSchema),
  Error: parsed(ErrorSchema),
  MintRequest: parsed(MintRequestSchema),
  Outcome: parsed(OutcomeSchema),
  PipelineConfig: parsed(PipelineConfigSchema),
  ScheduleSpec: parsed(ScheduleSpecSchema),
  ScheduleView: sent(ScheduleViewSchema),
  Schedule: sent(ScheduleDetailSchema),
  ScheduleRemoved: sent(ScheduleRemovedSchema),
  CreateRun: parsed(CreateRunSchema),
  RunCreated: sent(RunCreatedSchema),
  RunCheck: sent(RunCheckSchema),
  PreviewAnswer: sent(PreviewAnswerSchema),
  Run: sent(RunSummarySchema),
  RunCancelled: sent(RunCancelledSchema),
  Rerun: parsed(RerunSchema),
  RerunAnswer: sent(RerunAnswerSchema),
  RunPaused: sent(RunPausedSchema),
  RunResumed: sent(RunResumedSchema),
  MergeSteps: parsed(MergeStepsSchema),
  StepsMerged: sent(StepsMergedSchema),
  ResultsViewRequest: parsed(ResultsViewRequestSchema),
  ResultsCountRequest: parsed(ResultsCountRequestSchema),
  ResultsDepositAnswer: parsed(ResultsDepositAnswerSchema),
  RunOutputs: sent(RunOutputsSchema),
  StatusCounts: sent(StatusCountsSchema),
  PipelineNames: sent(PipelineNamesSchema),
  PipelineDetails: sent(PipelineDetailsSchema),
  AuditAnswer: sent(AuditAnswerSchema),
  PipelineCounts: sent(PipelineCountsSchema),
  ActivityMinutes: sent(ActivityMinutesSchema),
  WorkerSeen: sent(WorkerSeenSchema),
  ConfigDeployAnswer: sent(ConfigDeployAnswerSchema),
  ChimeConfigList: sent(ChimeConfigListSchema),
  ConfigRemoved: sent(ConfigRemovedSchema),
  ConfigCount: sent(ConfigCountSchema),
  ConfigStopped: sent(ConfigStoppedSchema),
  ChimeScheduleConfig: parsed(ChimeScheduleConfigSchema),
  ChimeScheduleIds: sent(ChimeScheduleIdsSchema),
  ChimeScheduleList: sent(ChimeScheduleListSchema),
  ChimeScheduleCounts: sent(ChimeScheduleCountsSchema),
  MintAnswer: sent(MintAnswerSchema),
  VersionAnswer: sent(VersionAnswerSchema),
  HealthAnswer: sent(HealthAnswerSchema),
  OpenApiAnswer: sent(OpenApiAnswerSchema),
} as const satisfies Record<string, Component>;

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. A test
 * checks that it describes every route the service serves, and no other.
 */
export function openApiDocument(): OpenApiAnswer {
  return {
    openapi: "3.1.0",
    info: {
      title: "buckets",
      version: VERSION,
      description: "A work queue for scientific pipelines.",
    },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
        accessToken: { type: "apiKey", in: "header", name: "x-access-token" },
      },
      schemas: Object.fromEntries(
        Object.entries(COMPONENTS).map(([name, [zod, io]]: [string, Component]) => [
          name,
          schema(zod, io),
        ]),
      ),
    },
    paths: withChimeBase({
      ...opsPaths,
      ...workPaths,
      ...pipelinePaths,
      ...cachePaths,
      ...runOutputPaths,
      ...resultPaths,
    }),
  };
}

/** What CHIME's clients find at their one base URL, `.../v2`: the same operations as at the root. */
const CHIME_BASE = "/v2";
const AT_CHIME_BASE = /^\/(?:version|status|configs(?:\/.*)?)$/;

function withChimeBase(paths: Record<string, JsonSchema>): Record<string, JsonSchema> {
  const copies = Object.entries(paths)
    .filter(([path]) => AT_CHIME_BASE.test(path))
    .map(([path, operations]) => [`${CHIME_BASE}${path}`, operations] as const);
  return { ...paths, ...Object.fromEntries(copies) };
}
