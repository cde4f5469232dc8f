/** Routes of the read-only views of the queue. */

import { Router } from "express";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { queryFlag } from "../service/validate.js";
import { count, details, pipelines, status, view } from "../service/views.js";

/** Read-only views of the queue; one /view answer holds at most `maxBytes` of JSON. */
export function viewRoutes(ctx: ServiceContext, { maxBytes }: { maxBytes: number }): Router {
  const router = Router();
  router.post("/view", async (req, res) => {
    res.type("json").send(await view(ctx, principalOf(res), req.body, maxBytes));
  });
  router.post("/view/count", async (req, res) => {
    res.json(await count(ctx, principalOf(res), req.body));
  });
  // CHIME's pipelines client asks its base URL (`.../v2`) for the status too.
  for (const path of ["/status", "/v2/status"]) {
    router.get(path, async (_req, res) => {
      res.json(await status(ctx, principalOf(res)));
    });
  }
  router.get("/status/pipelines", async (_req, res) => {
    res.json(await pipelines(ctx, principalOf(res)));
  });
  router.get("/status/details/:pipeline", async (req, res) => {
    const all = queryFlag(req.query, "all");
    res.json(await details(ctx, principalOf(res), req.params.pipeline, { all }));
  });
  return router;
}
