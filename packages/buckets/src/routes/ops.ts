import { Router } from "express";
import type { Metrics } from "../metrics.js";
import { openApiDocument } from "../openapi.js";
import type { ServiceContext } from "../service/context.js";
import { VERSION } from "../version.js";

/** Endpoints for operators and load balancers; none needs a token. */
export function opsRoutes(ctx: ServiceContext, metrics: Metrics): Router {
  const router = Router();
  router.get("/version", (_req, res) => {
    res.json({ version: VERSION });
  });
  router.get("/livez", (_req, res) => {
    res.json({ ok: true });
  });
  router.get("/readyz", async (_req, res) => {
    await ctx.store.ping();
    res.json({ ok: true });
  });
  router.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const openapi = openApiDocument();
  router.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  return router;
}
