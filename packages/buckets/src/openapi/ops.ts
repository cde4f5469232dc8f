/** OpenAPI paths of the operators' endpoints and the pages. */

import { errors, ok, type Paths, ref } from "./build.js";

/** The operators' endpoints and the pages: public but for /metrics. */
export const opsPaths: Paths = {
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
        "200": ok("version", ref("VersionAnswer")),
      },
    },
  },
  "/livez": {
    get: {
      summary: "The process is up",
      responses: { "200": ok("alive", ref("HealthAnswer")) },
    },
  },
  "/readyz": {
    get: {
      summary: "MongoDB answers",
      responses: { "200": ok("ready", ref("HealthAnswer")), "503": errors["503"] },
    },
  },
  "/metrics": {
    get: {
      summary:
        "Prometheus metrics; a token with the metrics or admin scope, not limited to pipelines (unless BUCKETS_METRICS_PUBLIC=true)",
      // Needs a token unless the operator opened it: documented as the default is.
      security: [{ bearer: [] }, { accessToken: [] }],
      responses: {
        "200": { description: "text exposition format" },
        "401": errors["401"],
        "403": errors["403"],
      },
    },
  },
  "/openapi.json": {
    get: {
      summary: "This document",
      responses: { "200": ok("the OpenAPI 3.1 document", ref("OpenApiAnswer")) },
    },
  },
};
