/**
 * OpenAPI paths of the queue: deposit, withdraw, update, an attempt's life, views, logs, audits,
 * activity and tokens.
 */

import {
  AuditDaysSchema,
  CLAIM_HEADER,
  ClaimSecretSchema,
  MAX_LOG_PAGE_LINES,
  WithdrawParamsSchema,
} from "@workflow/work";
import { body, op, type Paths, pathParam, query, queryParameters, ref, schema } from "./build.js";

/** The audits answer a number, or with ?details=true its parts. */
const audited = ref("AuditAnswer");
const details = query("details", "answer the parts, not only the number", { type: "boolean" });
const works = { type: "array", items: ref("Work") };

/** Who acts for an attempt: its number, and the claim secret withdraw answered (when sent). */
const held = [
  pathParam("id"),
  query("attempt", "the attempt you hold", { type: "integer", minimum: 1 }),
  query("pipeline", "the work's pipeline: the service looks for it there only (README, Sizing)", {
    type: "string",
  }),
  {
    name: CLAIM_HEADER,
    in: "header",
    description:
      "the `claim` withdraw answered with the work; without it, the token that claimed the attempt is enough",
    schema: schema(ClaimSecretSchema),
  },
];

/** Works: deposit, claim, report, watch, audit, count; and the dashboard's data. */
export const workPaths: Paths = {
  "/work": {
    post: op(
      "Deposit works; answers their ids (return_ids=true) or true",
      { oneOf: [{ type: "array", items: { type: "string" } }, { const: true }] },
      {
        ...body(works),
        parameters: [query("return_ids", "answer the ids, in order", { type: "boolean" })],
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
      "Claim the next work(s) in priority order; each comes with `claim`, the secret that its claimer sends back with what it does for the attempt",
      {
        oneOf: [ref("StoredWork"), { type: "null" }, { type: "array", items: ref("StoredWork") }],
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
        parameters: held,
      },
    ),
  },
  "/work/{id}/release": {
    post: op(
      "Give the attempt you hold back to the queue; it does not count against retries",
      { const: true },
      {
        parameters: held,
      },
    ),
  },
  "/work/{id}": {
    get: op(
      "One work with its history and the last log lines of its latest attempt",
      { type: "object", description: "the work, and logs: {attempt, lines}" },
      { parameters: [pathParam("id")] },
    ),
  },
  "/work/{id}/logs": {
    get: op(
      "An attempt's logs: text (the lines, streamed), JSON pages with ?format=json (follow `next` as `after`), or Server-Sent Events (line, then end) with ?follow=true until the attempt ends (followers are capped per token, 429, and overall, 503)",
      { type: "string" },
      {
        parameters: [
          pathParam("id"),
          query("attempt", "which attempt (default: the latest)", {
            type: "integer",
            minimum: 1,
          }),
          query("follow", "stream new lines until the attempt ends", { type: "boolean" }),
          query("format", "json for a page {id, attempt, cut, lines, next?}", {
            type: "string",
            enum: ["json"],
          }),
          query("after", "with format=json: where the page starts, a previous page's next", {
            type: "string",
          }),
          query(
            "limit",
            `with format=json: the most lines in the page (default and most ${MAX_LOG_PAGE_LINES})`,
            {
              type: "integer",
              minimum: 1,
              maximum: MAX_LOG_PAGE_LINES,
            },
          ),
        ],
      },
    ),
    post: op(
      "Append lines ({lines: [{t, stream, text}]}) to the attempt you hold",
      { const: true },
      {
        parameters: held,
      },
    ),
  },
  "/work/{id}/cancel": {
    post: op("Cancel a queued or running work", { const: true }, { parameters: [pathParam("id")] }),
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
    get: op("Fail unfinished works created more than {days} days ago; answers how many", audited, {
      parameters: [{ ...pathParam("days"), schema: schema(AuditDaysSchema) }, details],
    }),
  },
  "/tokens": {
    post: op(
      "Mint a token with the service's key (admin)",
      ref("MintAnswer"),
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
  "/work/bulk": {
    post: op(
      "Retry, cancel or delete the works a query matches, 1,000 a request in id order (send `next` as `after` for the page past it; confirm what is left of the count each time): each through its one-work request's transition and checks; refused works are counted and the first reasons given",
      ref("BulkResult"),
      body(ref("BulkRequest")),
    ),
  },
  "/activity/counts": {
    get: op("Counts by pipeline and status (the dashboard's overview)", {
      type: "array",
      items: ref("PipelineCounts"),
    }),
  },
  "/activity/minutes": {
    get: op(
      "Works that ended in success or failure per minute over the last hour",
      ref("ActivityMinutes"),
    ),
  },
  "/activity/workers": {
    get: op(
      "Workers heard from in the last 10 minutes: by a poll for work or a heartbeat (lastContact, contact), or by running or stopping works",
      { type: "array", items: ref("WorkerSeen") },
    ),
  },
  "/status": { get: op("Counts by status", ref("StatusCounts")) },
  "/status/pipelines": {
    get: op("Pipeline names", ref("PipelineNames")),
  },
  "/status/details/{pipeline}": {
    get: op(
      "Counts by status for one pipeline: total, queued, running, success and failure; with ?all=true every status",
      ref("PipelineDetails"),
      {
        parameters: [
          pathParam("pipeline"),
          query("all", "true: every status, not only CHIME's columns", { type: "boolean" }),
        ],
      },
    ),
  },
};
