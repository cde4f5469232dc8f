/** Route of a run's outputs. */

import { Router } from "express";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { parseRunId } from "../service/runs/access.js";
import { runOutputs } from "../service/runs/outputs.js";

/** A run's outputs in one answer of at most `maxBytes` of JSON. */
export function runOutputRoutes(ctx: ServiceContext, { maxBytes }: { maxBytes: number }): Router {
  const router = Router();
  router.get("/runs/:id/outputs", async (req, res) => {
    const id = parseRunId(req.params.id);
    res.type("json").send(await runOutputs(ctx, principalOf(res), id, req.query, maxBytes));
  });
  return router;
}
