/** OpenAPI paths of runs, configs and schedules. */

import { ConfigDeployParamsSchema, RunListParamsSchema } from "@workflow/work";
import { body, ok, op, type Paths, pathParam, query, queryParameters, ref } from "./build.js";

/** An operation that also answers 201 with `created`: a request that stores what it made. */
const storing = (operation: ReturnType<typeof op>, description: string, created: unknown) => ({
  ...operation,
  responses: { "201": ok(description, created), ...operation.responses },
});

/** An operation that answers 201 with what it stored, and never 200. */
const creating = (operation: ReturnType<typeof op>, description: string) => {
  const { "200": answer, ...refusals } = operation.responses;
  return { ...operation, responses: { "201": { ...answer, description }, ...refusals } };
};

/** CHIME's `?query=` and `?projection=`: JSON objects as text. */
const chimeQuery = [
  query("query", 'a JSON object, e.g. {"id": "..."}', { type: "string" }),
  query("projection", "a JSON object of fields to keep (1) or leave out (0)", { type: "string" }),
];
const chimeId = [query("query", 'a JSON object naming the id: {"id": "..."}', { type: "string" })];

/** Pipelines: runs, CHIME's configs API on runs, schedules and CHIME's schedules API. */
export const pipelinePaths: Paths = {
  "/runs": {
    post: storing(
      op(
        "Start a run of a pipeline config (YAML text or an object): its id and its works' ids (201); with ?dry_run=true, every check of a run and nothing stored: its name, user, pipelines and number of works (200)",
        ref("RunCheck"),
        {
          ...body(ref("CreateRun")),
          parameters: [
            query("dry_run", "true: check the run as it would be started, store nothing", {
              type: "boolean",
            }),
          ],
        },
      ),
      "the run started: its id and its works' ids",
      ref("RunCreated"),
    ),
    get: op(
      "Runs, newest first, within the token's pipelines",
      { type: "array", items: ref("Run") },
      { parameters: queryParameters(RunListParamsSchema) },
    ),
  },
  "/runs/{id}": {
    get: op("A run: its status, each step's state and counts by status, its events", ref("Run"), {
      parameters: [pathParam("id")],
    }),
  },
  "/runs/{id}/cancel": {
    post: op("Cancel a run: its unfinished works are cancelled", ref("RunCancelled"), {
      parameters: [pathParam("id")],
    }),
  },
  "/runs/{id}/rerun": {
    post: op(
      "Re-run a finished run's works (some steps, one work, only failures) and with downstream all after them",
      ref("RerunAnswer"),
      { parameters: [pathParam("id")], ...body(ref("Rerun")) },
    ),
  },
  "/runs/{id}/pause": {
    post: op(
      "Pause a running run: nothing more is queued, its queued works go back to waiting, running ones finish",
      ref("RunPaused"),
      { parameters: [pathParam("id")] },
    ),
  },
  "/runs/{id}/resume": {
    post: op(
      "Resume a paused run: it is released again as its needs and limits allow",
      ref("RunResumed"),
      { parameters: [pathParam("id")] },
    ),
  },
  "/runs/{id}/steps": {
    post: op(
      "Merge steps into a running run: new ones are added, one of a step's name replaces it; a replaced step and those after it run again",
      ref("StepsMerged"),
      { parameters: [pathParam("id")], ...body(ref("MergeSteps")) },
    ),
  },
  "/configs": {
    post: op(
      "CHIME's configs API: start a run of a config (the YAML as a mapping); answers {config, pipelines} (with ?dry_run=true, the run's check and dryRun). A config with on: is deployed instead: its cron triggers become schedules (replacing those of an earlier deploy), answered as schedules",
      ref("ConfigDeployAnswer"),
      {
        ...body(ref("PipelineConfig")),
        parameters: queryParameters(ConfigDeployParamsSchema),
      },
    ),
    get: op(
      "CHIME's configs API: runs as configs (a projection keeps or leaves out fields)",
      ref("ChimeConfigList"),
      {
        parameters: [query("name", "a config's name", { type: "string" }), ...chimeQuery],
      },
    ),
    delete: op(
      "CHIME's configs API: remove a run that ended, with its works; ?name= alone removes a deployed config's schedules",
      ref("ConfigRemoved"),
      {
        parameters: [query("name", "a deployed config's name", { type: "string" }), ...chimeId],
      },
    ),
  },
  "/configs/count": {
    get: op("CHIME's configs API: how many configs (runs)", ref("ConfigCount")),
  },
  "/configs/cancel": {
    put: op("CHIME's configs API: cancel a run (304 once it has ended)", ref("ConfigStopped"), {
      parameters: chimeId,
    }),
  },
  "/configs/retry": {
    post: op(
      "CHIME's configs API: re-run a run's failures and what depends on them",
      ref("RerunAnswer"),
      body({ type: "object", properties: { id: { type: "string" }, name: { type: "string" } } }),
    ),
  },
  "/configs/migrate": {
    post: op("CHIME's configs API: v1 configs are not migrated here (always 400)", {
      type: "object",
    }),
  },
  "/schedules": {
    post: storing(
      op(
        "Check a schedule and its next fire times, storing nothing (?dry_run=true)",
        ref("Schedule"),
        {
          ...body(ref("ScheduleSpec")),
          parameters: [query("dry_run", "check only; store nothing", { type: "boolean" })],
        },
      ),
      "Add a schedule: it, its next fire times and no ticks yet",
      ref("Schedule"),
    ),
    get: op("Your schedules (an admin's: all), within the token's pipelines", {
      type: "array",
      items: ref("ScheduleView"),
    }),
  },
  "/schedules/{id}": {
    get: op("A schedule with its next 5 fire times and its last 20 ticks", ref("Schedule"), {
      parameters: [pathParam("id")],
    }),
    delete: op("Remove a schedule", ref("ScheduleRemoved"), { parameters: [pathParam("id")] }),
  },
  "/schedules/{id}/pause": {
    post: op("Pause a schedule: it fires nothing until resumed", ref("Schedule"), {
      parameters: [pathParam("id")],
    }),
  },
  "/schedules/{id}/resume": {
    post: op("Resume a schedule from its next tick (what passed is skipped)", ref("Schedule"), {
      parameters: [pathParam("id")],
    }),
  },
  "/v2/schedule": {
    post: creating(
      op(
        "CHIME's schedules API: schedule a run of a config with a schedule section (cronspec, count or lives); answers [id] (201)",
        ref("ChimeScheduleIds"),
        body(ref("ChimeScheduleConfig")),
      ),
      "the schedule added: its id, alone in a list",
    ),
    get: op(
      "CHIME's schedules API: schedules as its CLI shows them (a projection keeps or leaves out fields)",
      ref("ChimeScheduleList"),
      { parameters: chimeQuery },
    ),
    delete: op("CHIME's schedules API: remove a schedule", ref("ScheduleRemoved"), {
      parameters: chimeId,
    }),
  },
  "/v2/schedule/count": {
    get: op("CHIME's schedules API: how many schedules each name has", ref("ChimeScheduleCounts"), {
      parameters: [chimeId[0]],
    }),
  },
};
