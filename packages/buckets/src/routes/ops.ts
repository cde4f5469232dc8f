/**
 * Routes for operators and load balancers: health, readiness, version, metrics and the API
 * document.
 */

import type { HealthAnswer, OpenApiAnswer, VersionAnswer } from "@workflow/work";
import { type RequestHandler, Router } from "express";
import { requireScope } from "../auth/access.js";
import { refuse } from "../errors.js";
import { principalOf } from "../http/auth.js";
import type { Metrics } from "../metrics.js";
import { openApiDocument } from "../openapi/index.js";
import type { ServiceContext } from "../service/context.js";
import { VERSION } from "../version.js";

export interface OpsOptions {
  /** Checks the bearer token (http/auth.ts); /metrics needs one unless it is public. */
  authenticate: RequestHandler;
  /** BUCKETS_METRICS_PUBLIC: serve /metrics to anyone, on purpose. */
  metricsPublic: boolean;
}

/**
 * Endpoints for operators and load balancers. Only /metrics needs a token (`metrics` or `admin`,
 * as Prometheus sends with `authorization.credentials`, and not limited to pipelines): it names
 * every pipeline.
 */
export function opsRoutes(ctx: ServiceContext, metrics: Metrics, options: OpsOptions): Router {
  const router = Router();
  // At CHIME's pipelines base too (`.../v2`), where its clients check the server (HEAD and GET).
  for (const path of ["/version", "/v2/version"]) {
    router.get(path, (_req, res) => {
      res.json({ version: VERSION } satisfies VersionAnswer);
    });
  }
  const healthy: HealthAnswer = { ok: true };
  router.get("/livez", (_req, res) => {
    res.json(healthy);
  });
  router.get("/readyz", async (_req, res) => {
    await ctx.store.ping();
    res.json(healthy);
  });
  const guard: RequestHandler[] = options.metricsPublic
    ? []
    : [
        options.authenticate,
        (_req, res, next) => {
          const principal = principalOf(res);
          requireScope(principal, "metrics");
          if (principal.pipelines) {
            throw refuse(
              "pipeline_refused",
              "metrics cover every pipeline: read them with a token not limited to pipelines",
            );
          }
          next();
        },
      ];
  router.get("/metrics", ...guard, async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const openapi: OpenApiAnswer = openApiDocument();
  router.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  return router;
}
