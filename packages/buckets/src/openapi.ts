import {
  BulkRequestSchema,
  CountRequestSchema,
  MintRequestSchema,
  OutcomeSchema,
  PipelineConfigSchema,
  ViewRequestSchema,
  WithdrawParamsSchema,
  WorkSchema,
} from "@workflow/work";
import { z } from "zod";
import { ERROR_CODES } from "./errors.js";
import { VERSION } from "./version.js";

type JsonSchema = Record<string, unknown>;

const schema = (zod: z.ZodType, io: "input" | "output" = "input"): JsonSchema => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(zod, { io, unrepresentable: "any" });
  return rest;
};

const ErrorSchema = z.object({
  error: z.object({
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES]),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const RUN_ID = { name: "id", in: "path", required: true, schema: { type: "string" } };
/** A run as GET /runs/:id shows it (GET /runs leaves out events). */
const RUN = {
  type: "object",
  properties: {
    id: { type: "string" },
    name: { type: "string" },
    user: { type: "string" },
    pipelines: { type: "array", items: { type: "string" } },
    status: { enum: ["running", "success", "failure", "cancelled"] },
    created: { type: "number" },
    finished: { type: "number" },
    params: { type: "object" },
    steps: { type: "array", items: { type: "object" } },
    events: {
      type: "array",
      items: {
        type: "object",
        properties: { at: { type: "number" }, kind: { type: "string" }, step: { type: "string" } },
      },
    },
    callback: { type: "object" },
  },
};
const json = (s: unknown) => ({ "application/json": { schema: s } });
const ok = (description: string, s: unknown) => ({ description, content: json(s) });
const errors = Object.fromEntries(
  Object.entries(ERROR_CODES).map(([code, status]) => [
    String(status),
    { description: code, content: json(ref("Error")) },
  ]),
);
const op = (summary: string, response: unknown, extra: Record<string, unknown> = {}) => ({
  summary,
  security: [{ bearer: [] }, { accessToken: [] }],
  ...extra,
  responses: { "200": ok(summary, response), ...errors },
});
const body = (s: unknown) => ({ requestBody: { required: true, content: json(s) } });
const query = (name: string, description: string, s: JsonSchema) => ({
  name,
  in: "query",
  description,
  schema: s,
});

/** Query parameters from a zod object: one per key, with its description. */
const queryParameters = (zod: z.ZodObject) =>
  Object.entries(zod.shape).map(([name, field]) =>
    query(name, (field as z.ZodType).description ?? name, schema(field as z.ZodType)),
  );

/** The audits answer a number, or with ?details=true its parts. */
const audited = {
  oneOf: [{ type: "integer" }, { type: "object", additionalProperties: { type: "integer" } }],
};
const details = query("details", "answer the parts, not only the number", { type: "boolean" });

/** The OpenAPI 3.1 document, generated from the same zod schemas that validate requests. */
export function openApiDocument(): JsonSchema {
  const counts = { type: "object", additionalProperties: { type: "integer" } };
  const works = { type: "array", items: ref("Work") };
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
        Error: schema(ErrorSchema),
        MintRequest: schema(MintRequestSchema),
        Outcome: schema(OutcomeSchema),
        PipelineConfig: schema(PipelineConfigSchema),
        Run: RUN,
      },
    },
    paths: {
      "/": {
        get: {
          summary: "Redirects to the dashboard, /ui",
          responses: { "302": { description: "to /ui" } },
        },
      },
      "/ui": {
        get: {
          summary: "The dashboard: an HTML page whose data calls send the token pasted into it",
          responses: { "200": { description: "the page", content: { "text/html": {} } } },
        },
      },
      "/docs": {
        get: {
          summary: "This document as a page",
          responses: { "200": { description: "the page", content: { "text/html": {} } } },
        },
      },
      "/version": {
        get: {
          summary: "The service's version",
          responses: {
            "200": ok("version", { type: "object", properties: { version: { type: "string" } } }),
          },
        },
      },
      "/livez": {
        get: {
          summary: "The process is up",
          responses: { "200": ok("alive", { type: "object" }) },
        },
      },
      "/readyz": {
        get: {
          summary: "MongoDB answers",
          responses: { "200": ok("ready", { type: "object" }), "503": errors["503"] },
        },
      },
      "/metrics": {
        get: {
          summary:
            "Prometheus metrics; a token with the metrics or admin scope, not limited to pipelines (unless BUCKETS_METRICS_PUBLIC=true)",
          responses: {
            "200": { description: "text exposition format" },
            "401": errors["401"],
            "403": errors["403"],
          },
        },
      },
      "/work": {
        post: op(
          "Deposit works; answers their ids (return_ids=true) or true",
          { oneOf: [{ type: "array", items: { type: "string" } }, { const: true }] },
          {
            ...body(works),
            parameters: [query("return_ids", "answer the ids, in order", { type: "string" })],
          },
        ),
        put: op(
          "Record outcomes (a worker, for the attempt it holds) or changes (an owner or an admin), through the transition table. Items are independent: refused ones are named in error.details.refused, the others recorded",
          { const: true },
          body({ type: "array", items: { oneOf: [ref("Outcome"), ref("Work")] } }),
        ),
        delete: op(
          "Delete works",
          { const: true },
          {
            parameters: [
              query("ids", "ids, repeated or comma-separated", {
                type: "array",
                items: { type: "string" },
              }),
            ],
          },
        ),
      },
      "/work/withdraw": {
        post: op(
          "Claim the next work(s) in priority order",
          {
            oneOf: [
              ref("StoredWork"),
              { type: "null" },
              { type: "array", items: ref("StoredWork") },
            ],
          },
          {
            ...body({
              type: "object",
              description:
                "filter: pipeline (name or {$in}), site, priority, user, event {$in}, tags {$in}, config.parent {$in}",
            }),
            parameters: queryParameters(WithdrawParamsSchema),
          },
        ),
      },
      "/work/{id}/heartbeat": {
        post: op(
          "Extend the lease of the attempt you hold; answers {cancel: true} once cancelled",
          { type: "object", properties: { cancel: { type: "boolean" } } },
          {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              query("attempt", "the attempt you hold", { type: "integer", minimum: 1 }),
            ],
          },
        ),
      },
      "/work/{id}/release": {
        post: op(
          "Give the attempt you hold back to the queue; it does not count against retries",
          { const: true },
          {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              query("attempt", "the attempt you hold", { type: "integer", minimum: 1 }),
            ],
          },
        ),
      },
      "/work/{id}": {
        get: op(
          "One work with its history and the last log lines of its latest attempt",
          { type: "object", description: "the work, and logs: {attempt, lines}" },
          { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] },
        ),
      },
      "/work/{id}/logs": {
        get: op(
          "An attempt's logs: text (the lines), JSON with ?format=json, or Server-Sent Events (line, then end) with ?follow=true until the attempt ends",
          { type: "string" },
          {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              query("attempt", "which attempt (default: the latest)", {
                type: "integer",
                minimum: 1,
              }),
              query("follow", "stream new lines until the attempt ends", { type: "boolean" }),
              query("format", "json for {id, attempt, cut, lines}", {
                type: "string",
                enum: ["json"],
              }),
            ],
          },
        ),
        post: op(
          "Append lines ({lines: [{t, stream, text}]}) to the attempt you hold",
          { const: true },
          {
            parameters: [
              { name: "id", in: "path", required: true, schema: { type: "string" } },
              query("attempt", "the attempt you hold", { type: "integer", minimum: 1 }),
            ],
          },
        ),
      },
      "/work/{id}/cancel": {
        post: op(
          "Cancel a queued or running work",
          { const: true },
          { parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }] },
        ),
      },
      "/audit/failed": {
        get: op("Re-queue every failure that has retries left; answers how many", audited, {
          parameters: [details],
        }),
      },
      "/audit/expired": {
        get: op("Fail running works past start + timeout; answers how many", audited, {
          parameters: [details],
        }),
      },
      "/audit/stale/{days}": {
        get: op(
          "Fail unfinished works created more than {days} days ago; answers how many",
          audited,
          {
            parameters: [
              { name: "days", in: "path", required: true, schema: { type: "number" } },
              details,
            ],
          },
        ),
      },
      "/tokens": {
        post: op(
          "Mint a token with the service's key (admin)",
          { type: "object", properties: { token: { type: "string" } } },
          body(ref("MintRequest")),
        ),
      },
      "/view": {
        post: op(
          "Works matching a query",
          { type: "array", items: ref("StoredWork") },
          body(ref("ViewRequest")),
        ),
      },
      "/view/count": {
        post: op("How many works match a query", { type: "integer" }, body(ref("CountRequest"))),
      },
      "/runs": {
        post: op(
          "Start a run of a pipeline config (YAML text or an object): its id and its works' ids",
          {
            type: "object",
            properties: {
              id: { type: "string" },
              works: { type: "array", items: { type: "string" } },
            },
          },
          body({
            type: "object",
            required: ["config"],
            properties: {
              config: { oneOf: [{ type: "string" }, ref("PipelineConfig")] },
              params: { type: "object" },
            },
          }),
        ),
        get: op(
          "Runs, newest first, within the token's pipelines",
          { type: "array", items: ref("Run") },
          {
            parameters: ["name", "user", "status", "limit", "skip"].map((name) => ({
              name,
              in: "query",
              schema: { type: ["limit", "skip"].includes(name) ? "integer" : "string" },
            })),
          },
        ),
      },
      "/runs/{id}": {
        get: op(
          "A run: its status, each step's state and counts by status, its events",
          ref("Run"),
          {
            parameters: [RUN_ID],
          },
        ),
      },
      "/runs/{id}/cancel": {
        post: op(
          "Cancel a run: its unfinished works are cancelled",
          {
            type: "object",
            properties: { id: { type: "string" }, cancelled: { type: "integer" } },
          },
          { parameters: [RUN_ID] },
        ),
      },
      "/runs/{id}/rerun": {
        post: op(
          "Re-run a finished run's works (some steps, one work, only failures) and with downstream all after them",
          { type: "object" },
          {
            parameters: [RUN_ID],
            ...body({
              type: "object",
              properties: {
                steps: { type: "array", items: { type: "string" } },
                work: { type: "string" },
                downstream: { type: "boolean" },
                failedOnly: { type: "boolean" },
              },
            }),
          },
        ),
      },
      "/work/bulk": {
        post: op(
          "Retry, cancel or delete the works a query matches (at most the count confirmed, and 5,000): each through its one-work request's transition and checks; refused works are counted and the first reasons given",
          {
            type: "object",
            properties: {
              matched: { type: "integer" },
              done: { type: "integer" },
              refused: { type: "integer" },
              reasons: {
                type: "array",
                items: {
                  type: "object",
                  properties: { id: { type: "string" }, message: { type: "string" } },
                },
              },
            },
          },
          body(ref("BulkRequest")),
        ),
      },
      "/activity/counts": {
        get: op("Counts by pipeline and status (the dashboard's overview)", {
          type: "array",
          items: {
            type: "object",
            properties: { pipeline: { type: "string" }, counts: counts },
          },
        }),
      },
      "/activity/minutes": {
        get: op("Works that ended in success or failure per minute over the last hour", {
          type: "object",
          properties: {
            minutes: { type: "array", items: { type: "integer" } },
            success: { type: "array", items: { type: "integer" } },
            failure: { type: "array", items: { type: "integer" } },
          },
        }),
      },
      "/activity/workers": {
        get: op("Workers running works now or that stopped one in the last 10 minutes", {
          type: "array",
          items: {
            type: "object",
            properties: {
              worker: { type: "string" },
              running: { type: "integer" },
              lastSeen: { type: "number" },
              pipelines: { type: "array", items: { type: "string" } },
            },
          },
        }),
      },
      "/status": { get: op("Counts by status", counts) },
      "/status/pipelines": {
        get: op("Pipeline names", { type: "array", items: { type: "string" } }),
      },
      "/status/details/{pipeline}": {
        get: op("Counts by status for one pipeline", counts, {
          parameters: [
            { name: "pipeline", in: "path", required: true, schema: { type: "string" } },
          ],
        }),
      },
    },
  };
}
