/** Routes of pipeline runs. Routes only parse and answer: the rules are in service/runs/. */

import type { RunCreated } from "@workflow/work";
import { Router } from "express";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { parseRunId } from "../service/runs/access.js";
import { cancelRun, getRun, listRuns, rerunRun } from "../service/runs/control.js";
import { checkRun, createRun } from "../service/runs/create.js";
import { mergeRunSteps } from "../service/runs/merge.js";
import { pauseRun, resumeRun } from "../service/runs/pause.js";
import { queryFlag } from "../service/validate.js";

/** Pipelines: runs of a config, their steps and events; cancel, rerun, pause, resume and merge. */
export function runRoutes(ctx: ServiceContext): Router {
  const router = Router();

  router.post("/runs", async (req, res) => {
    if (queryFlag(req.query, "dry_run")) {
      res.json(await checkRun(ctx, principalOf(res), req.body));
      return;
    }
    const { id, works } = await createRun(ctx, principalOf(res), req.body);
    res.status(201).json({ id, works } satisfies RunCreated);
  });

  router.get("/runs", async (req, res) => {
    res.json(await listRuns(ctx, principalOf(res), req.query));
  });

  router.get("/runs/:id", async (req, res) => {
    res.json(await getRun(ctx, principalOf(res), parseRunId(req.params.id)));
  });

  router.post("/runs/:id/cancel", async (req, res) => {
    res.json(await cancelRun(ctx, principalOf(res), parseRunId(req.params.id)));
  });

  router.post("/runs/:id/rerun", async (req, res) => {
    res.json(await rerunRun(ctx, principalOf(res), parseRunId(req.params.id), req.body));
  });

  router.post("/runs/:id/pause", async (req, res) => {
    res.json(await pauseRun(ctx, principalOf(res), parseRunId(req.params.id)));
  });

  router.post("/runs/:id/resume", async (req, res) => {
    res.json(await resumeRun(ctx, principalOf(res), parseRunId(req.params.id)));
  });

  router.post("/runs/:id/steps", async (req, res) => {
    res.json(await mergeRunSteps(ctx, principalOf(res), parseRunId(req.params.id), req.body));
  });

  return router;
}
