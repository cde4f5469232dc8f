import { Router } from "express";
import { z } from "zod";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { audit } from "../service/lifecycle.js";
import { parseWith } from "../service/validate.js";

const DaysSchema = z.coerce
  .number({ error: "days must be a number, e.g. /audit/stale/7" })
  .min(0)
  .max(36_500);

/** CHIME's audits, on demand (the reaper does `expired` on its own every few seconds). */
export function auditRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.get("/audit/failed", async (_req, res) => {
    res.json(await audit(ctx, principalOf(res), "failed"));
  });
  router.get("/audit/expired", async (_req, res) => {
    res.json(await audit(ctx, principalOf(res), "expired"));
  });
  router.get("/audit/stale/:days", async (req, res) => {
    const days = parseWith(DaysSchema, req.params.days, "days");
    res.json(await audit(ctx, principalOf(res), "stale", days));
  });
  return router;
}
