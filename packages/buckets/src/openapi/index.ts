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
  MergeStepsSchema,
  MintRequestSchema,
  OutcomeSchema,
  PipelineConfigSchema,
  PipelineCountsSchema,
  PipelineDetailsSchema,
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
  ViewRequestSchema,
  WorkerSeenSchema,
  WorkSchema,
} from "@workflow/work";
import { VERSION } from "../version.js";
import { ErrorSchema, type JsonSchema, schema } from "./build.js";
import { cachePaths } from "./cache.js";
import { opsPaths } from "./ops.js";
import { pipelinePaths } from "./pipelines.js";
import { resultPaths } from "./results.js";
import { runOutputPaths } from "./run-outputs.js";
import { workPaths } from "./work.js";

/**
 * The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. A test
 * checks that it describes every route the service serves, and no other.
 */
export function openApiDocument(): JsonSchema {
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
      schemas: {
        Work: schema(WorkSchema),
        StoredWork: schema(WorkSchema, "output"),
        ViewRequest: schema(ViewRequestSchema),
        CountRequest: schema(CountRequestSchema),
        BulkRequest: schema(BulkRequestSchema),
        BulkResult: schema(BulkResultSchema, "output"),
        ExpireRequest: schema(ExpireRequestSchema),
        ExpireResult: schema(ExpireResultSchema, "output"),
        Error: schema(ErrorSchema),
        MintRequest: schema(MintRequestSchema),
        Outcome: schema(OutcomeSchema),
        PipelineConfig: schema(PipelineConfigSchema),
        ScheduleSpec: schema(ScheduleSpecSchema),
        ScheduleView: schema(ScheduleViewSchema, "output"),
        Schedule: schema(ScheduleDetailSchema, "output"),
        ScheduleRemoved: schema(ScheduleRemovedSchema, "output"),
        CreateRun: schema(CreateRunSchema),
        RunCreated: schema(RunCreatedSchema, "output"),
        RunCheck: schema(RunCheckSchema, "output"),
        PreviewAnswer: schema(PreviewAnswerSchema, "output"),
        Run: schema(RunSummarySchema, "output"),
        RunCancelled: schema(RunCancelledSchema, "output"),
        Rerun: schema(RerunSchema),
        RerunAnswer: schema(RerunAnswerSchema, "output"),
        RunPaused: schema(RunPausedSchema, "output"),
        RunResumed: schema(RunResumedSchema, "output"),
        MergeSteps: schema(MergeStepsSchema),
        StepsMerged: schema(StepsMergedSchema, "output"),
        ResultsViewRequest: schema(ResultsViewRequestSchema),
        ResultsCountRequest: schema(ResultsCountRequestSchema),
        ResultsDepositAnswer: schema(ResultsDepositAnswerSchema),
        RunOutputs: schema(RunOutputsSchema, "output"),
        StatusCounts: schema(StatusCountsSchema, "output"),
        PipelineDetails: schema(PipelineDetailsSchema, "output"),
        AuditAnswer: schema(AuditAnswerSchema, "output"),
        PipelineCounts: schema(PipelineCountsSchema, "output"),
        ActivityMinutes: schema(ActivityMinutesSchema, "output"),
        WorkerSeen: schema(WorkerSeenSchema, "output"),
        ConfigDeployAnswer: schema(ConfigDeployAnswerSchema, "output"),
        ChimeConfigList: schema(ChimeConfigListSchema, "output"),
        ConfigRemoved: schema(ConfigRemovedSchema, "output"),
        ConfigCount: schema(ConfigCountSchema, "output"),
        ConfigStopped: schema(ConfigStoppedSchema, "output"),
        ChimeScheduleConfig: schema(ChimeScheduleConfigSchema),
        ChimeScheduleIds: schema(ChimeScheduleIdsSchema, "output"),
        ChimeScheduleList: schema(ChimeScheduleListSchema, "output"),
        ChimeScheduleCounts: schema(ChimeScheduleCountsSchema, "output"),
      },
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
