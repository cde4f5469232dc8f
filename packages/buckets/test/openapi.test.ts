import {
  ActivityMinutesSchema,
  AuditAnswerSchema,
  AuditDetailsSchema,
  BulkRequestSchema,
  BulkResultSchema,
  ChimeConfigListSchema,
  ChimeConfigSchema,
  ChimeScheduleConfigSchema,
  ChimeScheduleCountsSchema,
  ChimeScheduleIdsSchema,
  ChimeScheduleListSchema,
  ChimeScheduleSchema,
  ConfigCheckSchema,
  ConfigCountSchema,
  ConfigDeployAnswerSchema,
  ConfigDeployedSchema,
  ConfigDeployParamsSchema,
  ConfigRemovedSchema,
  ConfigStartedSchema,
  ConfigStoppedSchema,
  CreateRunSchema,
  ExpireRequestSchema,
  ExpireResultSchema,
  MergeStepsSchema,
  PipelineCountsSchema,
  PipelineDetailsSchema,
  PipelineNamesSchema,
  PreviewAnswerSchema,
  RerunAnswerSchema,
  RerunSchema,
  RunCancelledSchema,
  RunCheckSchema,
  RunCreatedSchema,
  RunListParamsSchema,
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
  WorkerSeenSchema,
} from "@workflow/work";
import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { schema } from "../src/openapi/build.js";
import { servedRoutes } from "./support/routes.js";
import { runConfig } from "./support/runs.js";
import { useTestService } from "./support/service.js";

/**
 * GET /openapi.json describes every route the service serves, and none it does not; the run,
 * schedule, cache and bulk operations with @workflow/work's schemas, which the service's answers
 * meet.
 */

const { t } = useTestService(import.meta.filename);

it("documents every served route and method, and only those", async () => {
  const answer = await t.call("GET", "/openapi.json", { token: null });
  expect(answer.status).toBe(200);
  const document = answer.body as { paths: Record<string, Record<string, unknown>> };
  const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map(
      // Express writes /work/:id where OpenAPI writes /work/{id}.
      (method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`,
    ),
  );
  // Express answers HEAD for every GET by itself: only what was routed counts.
  const served = servedRoutes(t).filter((route) => !route.startsWith("HEAD "));
  expect(documented.sort()).toEqual(served.sort());
});

it("every operation names its answers, and the schemas it refers to exist", async () => {
  const document = (await t.call("GET", "/openapi.json", { token: null })).body as {
    paths: Record<string, Record<string, { summary?: string; responses?: object }>>;
    components: { schemas: Record<string, unknown> };
  };
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      expect(operation.summary, `${method} ${path}`).toBeTruthy();
      expect(Object.keys(operation.responses ?? {}), `${method} ${path}`).not.toEqual([]);
    }
  }
  const refs = [...JSON.stringify(document).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map(
    (match) => match[1] as string,
  );
  for (const name of new Set(refs)) expect(document.components.schemas, name).toHaveProperty(name);
});

type Operation = {
  requestBody?: { content: { "application/json": { schema: unknown } } };
  responses: Record<string, { content?: { "application/json": { schema: unknown } } }>;
  parameters?: { name: string }[];
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown> };
};

/** The document's schema with every $ref replaced by the component it names. */
function resolved(document: Document, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((item) => resolved(document, item));
  if (node === null || typeof node !== "object") return node;
  const ref = (node as { $ref?: string }).$ref;
  if (ref) return resolved(document, document.components.schemas[ref.split("/").pop() as string]);
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [key, resolved(document, value)]),
  );
}

const array = <T extends z.ZodType>(item: T) => z.array(item);

/** Where each request and answer is described, and by which schema of @workflow/work. */
const DESCRIBED: [string, "body" | "200" | "201", z.ZodType][] = [
  ["POST /configs", "200", ConfigDeployAnswerSchema],
  ["GET /configs", "200", ChimeConfigListSchema],
  ["GET /configs/count", "200", ConfigCountSchema],
  ["PUT /configs/cancel", "200", ConfigStoppedSchema],
  ["POST /configs/retry", "200", RerunAnswerSchema],
  ["DELETE /configs", "200", ConfigRemovedSchema],
  ["POST /v2/schedule", "body", ChimeScheduleConfigSchema],
  ["POST /v2/schedule", "201", ChimeScheduleIdsSchema],
  ["GET /v2/schedule", "200", ChimeScheduleListSchema],
  ["GET /v2/schedule/count", "200", ChimeScheduleCountsSchema],
  ["DELETE /v2/schedule", "200", ScheduleRemovedSchema],
  ["POST /runs", "body", CreateRunSchema],
  ["POST /runs", "201", RunCreatedSchema],
  ["POST /runs", "200", RunCheckSchema],
  ["GET /runs", "200", array(RunSummarySchema)],
  ["GET /runs/{id}", "200", RunSummarySchema],
  ["POST /runs/{id}/cancel", "200", RunCancelledSchema],
  ["POST /runs/{id}/rerun", "body", RerunSchema],
  ["POST /runs/{id}/rerun", "200", RerunAnswerSchema],
  ["POST /runs/{id}/pause", "200", RunPausedSchema],
  ["POST /runs/{id}/resume", "200", RunResumedSchema],
  ["POST /runs/{id}/steps", "body", MergeStepsSchema],
  ["POST /runs/{id}/steps", "200", StepsMergedSchema],
  ["POST /runs/preview", "body", CreateRunSchema],
  ["POST /runs/preview", "200", PreviewAnswerSchema],
  ["POST /cache/expire", "body", ExpireRequestSchema],
  ["POST /cache/expire", "200", ExpireResultSchema],
  ["POST /work/bulk", "body", BulkRequestSchema],
  ["POST /work/bulk", "200", BulkResultSchema],
  ["POST /schedules", "body", ScheduleSpecSchema],
  ["POST /schedules", "201", ScheduleDetailSchema],
  ["POST /schedules", "200", ScheduleDetailSchema],
  ["GET /schedules", "200", array(ScheduleViewSchema)],
  ["GET /schedules/{id}", "200", ScheduleDetailSchema],
  ["POST /schedules/{id}/pause", "200", ScheduleDetailSchema],
  ["POST /schedules/{id}/resume", "200", ScheduleDetailSchema],
  ["DELETE /schedules/{id}", "200", ScheduleRemovedSchema],
  ["GET /runs/{id}/outputs", "200", RunOutputsSchema],
  ["GET /status", "200", StatusCountsSchema],
  ["GET /status/pipelines", "200", PipelineNamesSchema],
  ["GET /status/details/{pipeline}", "200", PipelineDetailsSchema],
  ["GET /audit/failed", "200", AuditAnswerSchema],
  ["GET /audit/expired", "200", AuditAnswerSchema],
  ["GET /audit/stale/{days}", "200", AuditAnswerSchema],
  ["GET /activity/counts", "200", array(PipelineCountsSchema)],
  ["GET /activity/minutes", "200", ActivityMinutesSchema],
  ["GET /activity/workers", "200", array(WorkerSeenSchema)],
];

it("describes runs, schedules, the cache and bulk actions with the schemas the service parses with", async () => {
  const document = (await t.call("GET", "/openapi.json", { token: null })).body as Document;
  for (const [route, where, zod] of DESCRIBED) {
    const [method, path] = route.split(" ") as [string, string];
    const operation = document.paths[path]?.[method.toLowerCase()] as Operation;
    const described =
      where === "body"
        ? operation.requestBody?.content["application/json"].schema
        : operation.responses[where]?.content?.["application/json"].schema;
    expect(resolved(document, described), `${route} ${where}`).toEqual(
      schema(zod, where === "body" ? "input" : "output"),
    );
  }
  const listed = document.paths["/runs"]?.get?.parameters?.map((p) => p.name);
  expect(listed).toEqual(Object.keys(RunListParamsSchema.shape));
  const deploy = document.paths["/configs"]?.post?.parameters?.map((p) => p.name);
  expect(deploy).toEqual(Object.keys(ConfigDeployParamsSchema.shape));
  // CHIME's clients find the same operations at their base URL.
  expect(document.paths["/v2/configs"]).toEqual(document.paths["/configs"]);
});

describe("the service's answers are what the document says", () => {
  /** The answer, after checking it against its (strict) schema: no field the schema lacks. */
  async function answer<T extends z.ZodType>(
    zod: T,
    status: number,
    method: string,
    path: string,
    body?: unknown,
    token: string = t.tokens.alice,
  ): Promise<z.output<T>> {
    const got = await t.call(method, path, {
      token,
      ...(body === undefined ? {} : { body }),
    });
    expect(got.status, `${method} ${path}: ${JSON.stringify(got.body)}`).toBe(status);
    const parsed = zod.safeParse(got.body);
    expect(parsed.error?.issues ?? [], `${method} ${path}: ${JSON.stringify(got.body)}`).toEqual(
      [],
    );
    return parsed.data as z.output<T>;
  }

  it("for runs, their preview, the cache and bulk actions", async () => {
    const name = `doc-${new ObjectId().toHexString().slice(-8)}`;
    const config = runConfig(name, [
      {
        name: "fit",
        matrix: { i: [1, 2] },
        work: { command: ["true"], parameters: { i: "${{ matrix.i }}" }, cache: true },
      },
      { name: "sum", needs: ["fit"], work: { command: ["true"] } },
    ]);
    const checked = await answer(RunCheckSchema, 200, "POST", "/runs?dry_run=true", { config });
    expect(checked).toMatchObject({ name, user: "alice", works: 3 });
    const preview = await answer(PreviewAnswerSchema, 200, "POST", "/runs/preview", { config });
    expect(preview.works.map((w) => w.step)).toEqual(["fit", "fit", "sum"]);
    const { id, works } = await answer(RunCreatedSchema, 201, "POST", "/runs", { config });
    expect(works).toHaveLength(3);
    const merged = await answer(StepsMergedSchema, 200, "POST", `/runs/${id}/steps`, {
      steps: [{ name: "report", needs: ["sum"], work: { command: ["true"] } }],
    });
    expect(merged.added).toEqual(["report"]);
    expect((await answer(RunPausedSchema, 200, "POST", `/runs/${id}/pause`)).paused).toBe(true);
    expect((await answer(RunResumedSchema, 200, "POST", `/runs/${id}/resume`)).paused).toBe(false);
    const run = await answer(RunSummarySchema, 200, "GET", `/runs/${id}`);
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ["fit", "running"],
      ["sum", "waiting"],
      ["report", "waiting"],
    ]);
    expect(run.events?.map((e) => e.kind)).toContain("run paused");
    const listed = await answer(array(RunSummarySchema), 200, "GET", `/runs?name=${name}`);
    expect(listed.map((r) => r.id)).toEqual([id]);
    const expired = await answer(ExpireResultSchema, 200, "POST", "/cache/expire", {
      run: id,
      step: "fit",
    });
    expect(expired).toEqual({ expired: 0, keys: 2 });
    expect((await answer(RunCancelledSchema, 200, "POST", `/runs/${id}/cancel`)).cancelled).toBe(4);
    const rerun = await answer(RerunAnswerSchema, 200, "POST", `/runs/${id}/rerun`, {
      unfinishedOnly: true,
    });
    expect(rerun.works).toBe(4);
    const count = await t.call("POST", "/view/count", {
      token: t.tokens.alice,
      body: { query: { pipeline: name } },
    });
    const bulk = await answer(BulkResultSchema, 200, "POST", "/work/bulk", {
      query: { pipeline: name },
      action: "cancel",
      confirmed: count.body,
    });
    expect(bulk).toMatchObject({ matched: count.body });
    const outputs = await answer(RunOutputsSchema, 200, "GET", `/runs/${id}/outputs`);
    expect(outputs.steps.map((s) => [s.name, s.works.length])).toEqual([
      ["fit", 2],
      ["sum", 1],
      ["report", 1],
    ]);
    expect(outputs.steps[0]?.works.map((w) => w.matrix)).toEqual([{ i: 1 }, { i: 2 }]);
  });

  it("for the status, the audits and the dashboard's activity", async () => {
    const pipeline = `doc-${new ObjectId().toHexString().slice(-8)}`;
    const deposited = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [{ pipeline, site: "local", user: "alice", command: ["true"] }],
    });
    expect(deposited.status).toBe(200);
    const counts = await answer(StatusCountsSchema, 200, "GET", "/status");
    expect(counts.queued).toBeGreaterThanOrEqual(1);
    expect(await answer(PipelineNamesSchema, 200, "GET", "/status/pipelines")).toContain(pipeline);
    const columns = await answer(PipelineDetailsSchema, 200, "GET", `/status/details/${pipeline}`);
    expect(columns).toEqual({ total: 1, queued: 1, running: 0, success: 0, failure: 0 });
    const all = await answer(
      StatusCountsSchema,
      200,
      "GET",
      `/status/details/${pipeline}?all=true`,
    );
    expect(all.cancelled).toBe(0);
    const admin = t.tokens.admin;
    for (const path of ["/audit/failed", "/audit/expired", "/audit/stale/36500"]) {
      expect(typeof (await answer(AuditAnswerSchema, 200, "GET", path, undefined, admin))).toBe(
        "number",
      );
      const parts = await answer(
        AuditDetailsSchema,
        200,
        "GET",
        `${path}?details=true`,
        undefined,
        admin,
      );
      expect(parts.total).toBe(0);
    }
    const table = await answer(array(PipelineCountsSchema), 200, "GET", "/activity/counts");
    expect(table.find((r) => r.pipeline === pipeline)?.counts.queued).toBe(1);
    const minutes = await answer(ActivityMinutesSchema, 200, "GET", "/activity/minutes");
    expect(minutes.minutes).toHaveLength(minutes.success.length);
    const claimed = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    expect(claimed.status).toBe(200);
    const workers = await answer(array(WorkerSeenSchema), 200, "GET", "/activity/workers");
    expect(workers.some((w) => w.pipelines.includes(pipeline))).toBe(true);
  });

  it("for schedules", async () => {
    const name = `doc-${new ObjectId().toHexString().slice(-8)}`;
    const spec = {
      name,
      cron: "0 * * * *",
      target: { works: [{ pipeline: name, site: "local", user: "alice", command: ["true"] }] },
    };
    const checked = await answer(
      ScheduleDetailSchema,
      200,
      "POST",
      "/schedules?dry_run=true",
      spec,
    );
    expect(checked.next).toHaveLength(5);
    const added = await answer(ScheduleDetailSchema, 201, "POST", "/schedules", spec);
    const listed = await answer(array(ScheduleViewSchema), 200, "GET", "/schedules");
    expect(listed.map((s) => s.id)).toContain(added.id);
    await answer(ScheduleDetailSchema, 200, "GET", `/schedules/${added.id}`);
    const paused = await answer(ScheduleDetailSchema, 200, "POST", `/schedules/${added.id}/pause`);
    expect(paused.enabled).toBe(false);
    await answer(ScheduleDetailSchema, 200, "POST", `/schedules/${added.id}/resume`);
    const removed = await answer(ScheduleRemovedSchema, 200, "DELETE", `/schedules/${added.id}`);
    expect(removed).toEqual({ id: added.id, removed: true });
  });

  it("for CHIME's configs and schedules APIs", async () => {
    const name = `doc-${new ObjectId().toHexString().slice(-8)}`;
    const config = {
      version: "2",
      name,
      defaults: { user: "alice", site: "local" },
      pipeline: { steps: [{ name: "one", work: { command: ["true"] } }] },
    };
    const checked = await answer(ConfigCheckSchema, 200, "POST", "/configs?dry_run=True", config);
    expect(checked).toMatchObject({ name, works: 1, dryRun: true });
    const started = await answer(ConfigStartedSchema, 200, "POST", "/configs", config);
    const id = started.config;
    expect(started.pipelines).toEqual([id]);
    const [listed] = await answer(array(ChimeConfigSchema), 200, "GET", `/configs?name=${name}`);
    expect(listed).toMatchObject({ id, name, status: "running", deployments: [] });
    const hidden = encodeURIComponent(JSON.stringify({ yaml: 0 }));
    const projected = await answer(
      ChimeConfigListSchema,
      200,
      "GET",
      `/configs?name=${name}&projection=${hidden}`,
    );
    expect(projected[0]).not.toHaveProperty("yaml");
    // The first test's run is alice's too.
    const counted = await answer(ConfigCountSchema, 200, "GET", "/configs/count");
    expect(counted.configs).toBe(2);
    const byId = encodeURIComponent(JSON.stringify({ id }));
    const stopped = await answer(ConfigStoppedSchema, 200, "PUT", `/configs/cancel?query=${byId}`);
    expect(stopped).toEqual({ stopped_config: id, stopped_pipelines: [id] });
    const retried = await answer(RerunAnswerSchema, 200, "POST", "/configs/retry", { id });
    expect(retried.id).toBe(id);
    await t.call("PUT", `/configs/cancel?query=${byId}`, { token: t.tokens.alice });
    expect(await answer(ConfigRemovedSchema, 200, "DELETE", `/configs?query=${byId}`)).toBe(true);

    const triggered = { ...config, on: [{ cron: "0 2 * * *" }] };
    const params = encodeURIComponent(JSON.stringify({}));
    const wouldDeploy = await answer(
      ConfigDeployedSchema,
      200,
      "POST",
      `/configs?dry_run=true&params=${params}`,
      triggered,
    );
    expect(wouldDeploy).toMatchObject({ config: name, pipelines: [], dryRun: true });
    const deployed = await answer(ConfigDeployedSchema, 200, "POST", "/configs", triggered);
    expect(deployed.schedules).toHaveLength(1);
    expect(await answer(ConfigRemovedSchema, 200, "DELETE", `/configs?name=${name}`)).toBe(true);

    const scheduled = { ...config, schedule: { cronspec: "0 2 * * *", count: 3 } };
    const [schedule] = await answer(ChimeScheduleIdsSchema, 201, "POST", "/v2/schedule", scheduled);
    const one = encodeURIComponent(JSON.stringify({ id: schedule }));
    const [shown] = await answer(
      array(ChimeScheduleSchema),
      200,
      "GET",
      `/v2/schedule?query=${one}`,
    );
    expect(shown).toMatchObject({ id: schedule, name, status: "active", lives: 3, history: [] });
    const all = await answer(array(ChimeScheduleSchema), 200, "GET", "/v2/schedule");
    expect(all.map((s) => s.id)).toContain(schedule);
    const named = encodeURIComponent(JSON.stringify({ name }));
    const counts = await answer(
      ChimeScheduleCountsSchema,
      200,
      "GET",
      `/v2/schedule/count?query=${named}`,
    );
    expect(counts).toEqual({ [name]: 1 });
    const removed = await answer(ScheduleRemovedSchema, 200, "DELETE", `/v2/schedule?query=${one}`);
    expect(removed).toEqual({ id: schedule, removed: true });
  });
});
