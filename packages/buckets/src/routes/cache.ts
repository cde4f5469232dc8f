/** Routes of the cache: a run's preview, and expiry. */

import { Router } from "express";
import { principalOf } from "../http/auth.js";
import { expireCache } from "../service/cache-expire.js";
import { previewRun } from "../service/cache-preview.js";
import type { ServiceContext } from "../service/context.js";

/** The cache of works keyed by what they compute: a run's preview, and expiry. */
export function cacheRoutes(ctx: ServiceContext): Router {
  const router = Router();

  router.post("/runs/preview", async (req, res) => {
    res.json(await previewRun(ctx, principalOf(res), req.body));
  });

  router.post("/cache/expire", async (req, res) => {
    res.json(await expireCache(ctx, principalOf(res), req.body));
  });

  return router;
}
