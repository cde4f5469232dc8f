import {
  AuditDetailsSchema,
  ChimeConfigSchema,
  ChimeScheduleSchema,
  ConfigCheckSchema,
  ConfigDeployedSchema,
  ConfigDeployParamsSchema,
  ConfigStartedSchema,
  MintRequestSchema,
  RunListParamsSchema,
} from "@workflow/work";
import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ref, schema } from "../src/openapi/build.js";
import { COMPONENTS } from "../src/openapi/index.js";
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

const array = <T extends z.ZodType>(item: T) => z.array(item);
/** The document's component `name`: the @workflow/work schema it is built from. */
const the = <N extends keyof typeof COMPONENTS>(name: N): (typeof COMPONENTS)[N][0] =>
  COMPONENTS[name][0];

/**
 * Where each request and answer is described, by the name of its component (in a list: a list of
 * them), which the document builds from @workflow/work's schema of that name (COMPONENTS).
 */
const DESCRIBED: [string, "body" | "200" | "201", string | [string]][] = [
  ["POST /configs", "200", "ConfigDeployAnswer"],
  ["GET /configs", "200", "ChimeConfigList"],
  ["GET /configs/count", "200", "ConfigCount"],
  ["PUT /configs/cancel", "200", "ConfigStopped"],
  ["POST /configs/retry", "200", "RerunAnswer"],
  ["DELETE /configs", "200", "ConfigRemoved"],
  ["POST /v2/schedule", "body", "ChimeScheduleConfig"],
  ["POST /v2/schedule", "201", "ChimeScheduleIds"],
  ["GET /v2/schedule", "200", "ChimeScheduleList"],
  ["GET /v2/schedule/count", "200", "ChimeScheduleCounts"],
  ["DELETE /v2/schedule", "200", "ScheduleRemoved"],
  ["POST /runs", "body", "CreateRun"],
  ["POST /runs", "201", "RunCreated"],
  ["POST /runs", "200", "RunCheck"],
  ["GET /runs", "200", ["Run"]],
  ["GET /runs/{id}", "200", "Run"],
  ["POST /runs/{id}/cancel", "200", "RunCancelled"],
  ["POST /runs/{id}/rerun", "body", "Rerun"],
  ["POST /runs/{id}/rerun", "200", "RerunAnswer"],
  ["POST /runs/{id}/pause", "200", "RunPaused"],
  ["POST /runs/{id}/resume", "200", "RunResumed"],
  ["POST /runs/{id}/steps", "body", "MergeSteps"],
  ["POST /runs/{id}/steps", "200", "StepsMerged"],
  ["POST /runs/preview", "body", "CreateRun"],
  ["POST /runs/preview", "200", "PreviewAnswer"],
  ["POST /cache/expire", "body", "ExpireRequest"],
  ["POST /cache/expire", "200", "ExpireResult"],
  ["POST /work/bulk", "body", "BulkRequest"],
  ["POST /work/bulk", "200", "BulkResult"],
  ["POST /schedules", "body", "ScheduleSpec"],
  ["POST /schedules", "201", "Schedule"],
  ["POST /schedules", "200", "Schedule"],
  ["GET /schedules", "200", ["ScheduleView"]],
  ["GET /schedules/{id}", "200", "Schedule"],
  ["POST /schedules/{id}/pause", "200", "Schedule"],
  ["POST /schedules/{id}/resume", "200", "Schedule"],
  ["DELETE /schedules/{id}", "200", "ScheduleRemoved"],
  ["GET /runs/{id}/outputs", "200", "RunOutputs"],
  ["GET /status", "200", "StatusCounts"],
  ["GET /status/pipelines", "200", "PipelineNames"],
  ["GET /status/details/{pipeline}", "200", "PipelineDetails"],
  ["GET /audit/failed", "200", "AuditAnswer"],
  ["GET /audit/expired", "200", "AuditAnswer"],
  ["GET /audit/stale/{days}", "200", "AuditAnswer"],
  ["GET /activity/counts", "200", ["PipelineCounts"]],
  ["GET /activity/minutes", "200", "ActivityMinutes"],
  ["GET /activity/workers", "200", ["WorkerSeen"]],
  ["POST /tokens", "body", "MintRequest"],
  ["POST /tokens", "200", "MintAnswer"],
  ["GET /version", "200", "VersionAnswer"],
  ["GET /v2/version", "200", "VersionAnswer"],
  ["GET /livez", "200", "HealthAnswer"],
  ["GET /readyz", "200", "HealthAnswer"],
  ["GET /openapi.json", "200", "OpenApiAnswer"],
];

it("describes runs, schedules, the cache and bulk actions with the schemas the service parses with", async () => {
  const document = (await t.call("GET", "/openapi.json", { token: null })).body as Document;
  for (const [route, where, named] of DESCRIBED) {
    const [method, path] = route.split(" ") as [string, string];
    const operation = document.paths[path]?.[method.toLowerCase()] as Operation;
    const described =
      where === "body"
        ? operation.requestBody?.content["application/json"].schema
        : operation.responses[where]?.content?.["application/json"].schema;
    const expected =
      typeof named === "string" ? ref(named) : { type: "array", items: ref(named[0]) };
    expect(described, `${route} ${where}`).toEqual(expected);
  }
  // Those named above (a work's schema holds the time it was made at, as the default creation).
  for (const name of new Set(DESCRIBED.map(([, , named]) => [named].flat()[0] as string))) {
    const component = (COMPONENTS as Record<string, readonly [z.ZodType, "input" | "output"]>)[
      name
    ];
    expect(component, name).toBeDefined();
    if (component) expect(document.components.schemas[name], name).toEqual(schema(...component));
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
    const checked = await answer(the("RunCheck"), 200, "POST", "/runs?dry_run=true", { config });
    expect(checked).toMatchObject({ name, user: "alice", works: 3 });
    const preview = await answer(the("PreviewAnswer"), 200, "POST", "/runs/preview", { config });
    expect(preview.works.map((w) => w.step)).toEqual(["fit", "fit", "sum"]);
    const { id, works } = await answer(the("RunCreated"), 201, "POST", "/runs", { config });
    expect(works).toHaveLength(3);
    const merged = await answer(the("StepsMerged"), 200, "POST", `/runs/${id}/steps`, {
      steps: [{ name: "report", needs: ["sum"], work: { command: ["true"] } }],
    });
    expect(merged.added).toEqual(["report"]);
    expect((await answer(the("RunPaused"), 200, "POST", `/runs/${id}/pause`)).paused).toBe(true);
    expect((await answer(the("RunResumed"), 200, "POST", `/runs/${id}/resume`)).paused).toBe(false);
    const run = await answer(the("Run"), 200, "GET", `/runs/${id}`);
    expect(run.steps.map((s) => [s.name, s.state])).toEqual([
      ["fit", "running"],
      ["sum", "waiting"],
      ["report", "waiting"],
    ]);
    expect(run.events?.map((e) => e.kind)).toContain("run paused");
    const listed = await answer(array(the("Run")), 200, "GET", `/runs?name=${name}`);
    expect(listed.map((r) => r.id)).toEqual([id]);
    const expired = await answer(the("ExpireResult"), 200, "POST", "/cache/expire", {
      run: id,
      step: "fit",
    });
    expect(expired).toEqual({ expired: 0, keys: 2 });
    expect((await answer(the("RunCancelled"), 200, "POST", `/runs/${id}/cancel`)).cancelled).toBe(
      4,
    );
    const rerun = await answer(the("RerunAnswer"), 200, "POST", `/runs/${id}/rerun`, {
      unfinishedOnly: true,
    });
    expect(rerun.works).toBe(4);
    const count = await t.call("POST", "/view/count", {
      token: t.tokens.alice,
      body: { query: { pipeline: name } },
    });
    const bulk = await answer(the("BulkResult"), 200, "POST", "/work/bulk", {
      query: { pipeline: name },
      action: "cancel",
      confirmed: count.body,
    });
    expect(bulk).toMatchObject({ matched: count.body });
    const outputs = await answer(the("RunOutputs"), 200, "GET", `/runs/${id}/outputs`);
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
    const counts = await answer(the("StatusCounts"), 200, "GET", "/status");
    expect(counts.queued).toBeGreaterThanOrEqual(1);
    expect(await answer(the("PipelineNames"), 200, "GET", "/status/pipelines")).toContain(pipeline);
    const columns = await answer(the("PipelineDetails"), 200, "GET", `/status/details/${pipeline}`);
    expect(columns).toEqual({ total: 1, queued: 1, running: 0, success: 0, failure: 0 });
    const all = await answer(
      the("StatusCounts"),
      200,
      "GET",
      `/status/details/${pipeline}?all=true`,
    );
    expect(all.cancelled).toBe(0);
    const admin = t.tokens.admin;
    for (const path of ["/audit/failed", "/audit/expired", "/audit/stale/36500"]) {
      expect(typeof (await answer(the("AuditAnswer"), 200, "GET", path, undefined, admin))).toBe(
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
    const table = await answer(array(the("PipelineCounts")), 200, "GET", "/activity/counts");
    expect(table.find((r) => r.pipeline === pipeline)?.counts.queued).toBe(1);
    const minutes = await answer(the("ActivityMinutes"), 200, "GET", "/activity/minutes");
    expect(minutes.minutes).toHaveLength(minutes.success.length);
    const claimed = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    expect(claimed.status).toBe(200);
    const workers = await answer(array(the("WorkerSeen")), 200, "GET", "/activity/workers");
    expect(workers.some((w) => w.pipelines.includes(pipeline))).toBe(true);
  });

  it("for the operators' endpoints and tokens", async () => {
    const version = await answer(the("VersionAnswer"), 200, "GET", "/version");
    expect(await answer(the("VersionAnswer"), 200, "GET", "/v2/version")).toEqual(version);
    expect(await answer(the("HealthAnswer"), 200, "GET", "/livez")).toEqual({ ok: true });
    expect(await answer(the("HealthAnswer"), 200, "GET", "/readyz")).toEqual({ ok: true });
    const document = await answer(the("OpenApiAnswer"), 200, "GET", "/openapi.json");
    expect(document.info.version).toBe(version.version);
    const request = { user: "carol", scopes: ["work:read"], expiresIn: "1h" };
    expect(MintRequestSchema.safeParse(request).success).toBe(true);
    const minted = await answer(the("MintAnswer"), 200, "POST", "/tokens", request, t.tokens.admin);
    const read = await t.call("GET", "/status", { token: minted.token });
    expect(read.status).toBe(200);
  });

  it("for schedules", async () => {
    const name = `doc-${new ObjectId().toHexString().slice(-8)}`;
    const spec = {
      name,
      cron: "0 * * * *",
      target: { works: [{ pipeline: name, site: "local", user: "alice", command: ["true"] }] },
    };
    const checked = await answer(the("Schedule"), 200, "POST", "/schedules?dry_run=true", spec);
    expect(checked.next).toHaveLength(5);
    const added = await answer(the("Schedule"), 201, "POST", "/schedules", spec);
    const listed = await answer(array(the("ScheduleView")), 200, "GET", "/schedules");
    expect(listed.map((s) => s.id)).toContain(added.id);
    await answer(the("Schedule"), 200, "GET", `/schedules/${added.id}`);
    const paused = await answer(the("Schedule"), 200, "POST", `/schedules/${added.id}/pause`);
    expect(paused.enabled).toBe(false);
    await answer(the("Schedule"), 200, "POST", `/schedules/${added.id}/resume`);
    const removed = await answer(the("ScheduleRemoved"), 200, "DELETE", `/schedules/${added.id}`);
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
      the("ChimeConfigList"),
      200,
      "GET",
      `/configs?name=${name}&projection=${hidden}`,
    );
    expect(projected[0]).not.toHaveProperty("yaml");
    // The first test's run is alice's too.
    const counted = await answer(the("ConfigCount"), 200, "GET", "/configs/count");
    expect(counted.configs).toBe(2);
    const byId = encodeURIComponent(JSON.stringify({ id }));
    const stopped = await answer(the("ConfigStopped"), 200, "PUT", `/configs/cancel?query=${byId}`);
    expect(stopped).toEqual({ stopped_config: id, stopped_pipelines: [id] });
    const retried = await answer(the("RerunAnswer"), 200, "POST", "/configs/retry", { id });
    expect(retried.id).toBe(id);
    await t.call("PUT", `/configs/cancel?query=${byId}`, { token: t.tokens.alice });
    expect(await answer(the("ConfigRemoved"), 200, "DELETE", `/configs?query=${byId}`)).toBe(true);

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
    expect(await answer(the("ConfigRemoved"), 200, "DELETE", `/configs?name=${name}`)).toBe(true);

    const scheduled = { ...config, schedule: { cronspec: "0 2 * * *", count: 3 } };
    const [schedule] = await answer(
      the("ChimeScheduleIds"),
      201,
      "POST",
      "/v2/schedule",
      scheduled,
    );
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
      the("ChimeScheduleCounts"),
      200,
      "GET",
      `/v2/schedule/count?query=${named}`,
    );
    expect(counts).toEqual({ [name]: 1 });
    const removed = await answer(
      the("ScheduleRemoved"),
      200,
      "DELETE",
      `/v2/schedule?query=${one}`,
    );
    expect(removed).toEqual({ id: schedule, removed: true });
  });
});
