/** Routes of what the dashboard reads beyond /status and /view, and its bulk actions. */

import { Router } from "express";
import { principalOf } from "../http/auth.js";
import { countTable, minutes, workersSeen } from "../service/activity.js";
import { bulk } from "../service/bulk.js";
import type { ServiceContext } from "../service/context.js";

/** What the dashboard reads beyond /status and /view, and its bulk actions. */
export function activityRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.get("/activity/counts", async (_req, res) => {
    res.json(await countTable(ctx, principalOf(res)));
  });
  router.get("/activity/minutes", async (_req, res) => {
    res.json(await minutes(ctx, principalOf(res)));
  });
  router.get("/activity/workers", async (_req, res) => {
    res.json(await workersSeen(ctx, principalOf(res)));
  });
  router.post("/work/bulk", async (req, res) => {
    res.json(await bulk(ctx, principalOf(res), req.body));
  });
  return router;
}
