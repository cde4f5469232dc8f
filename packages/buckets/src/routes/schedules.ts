/** Routes of schedules, this service's and CHIME's. */

import { Router } from "express";
import { principalOf } from "../http/auth.js";
import { chimeErrors } from "../http/chime.js";
import type { ServiceContext } from "../service/context.js";
import {
  countChimeSchedules,
  deployChimeSchedule,
  listChimeSchedules,
  removeChimeSchedule,
} from "../service/schedules/chime.js";
import {
  addSchedule,
  getSchedule,
  listSchedules,
  parseScheduleId,
  removeSchedule,
  setEnabled,
} from "../service/schedules/manage.js";
import { queryFlag } from "../service/validate.js";

/** Schedules: cron runs of works and pipelines, fired once across instances. */
export function scheduleRoutes(ctx: ServiceContext): Router {
  const router = Router();

  router.post("/schedules", async (req, res) => {
    const dryRun = queryFlag(req.query, "dry_run");
    const detail = await addSchedule(ctx, principalOf(res), req.body, dryRun);
    res.status(dryRun ? 200 : 201).json(detail);
  });

  router.get("/schedules", async (_req, res) => {
    res.json(await listSchedules(ctx, principalOf(res)));
  });

  router.get("/schedules/:id", async (req, res) => {
    res.json(await getSchedule(ctx, principalOf(res), parseScheduleId(req.params.id)));
  });

  router.post("/schedules/:id/pause", async (req, res) => {
    res.json(await setEnabled(ctx, principalOf(res), parseScheduleId(req.params.id), false));
  });

  router.post("/schedules/:id/resume", async (req, res) => {
    res.json(await setEnabled(ctx, principalOf(res), parseScheduleId(req.params.id), true));
  });

  router.delete("/schedules/:id", async (req, res) => {
    res.json(await removeSchedule(ctx, principalOf(res), parseScheduleId(req.params.id)));
  });

  // CHIME's schedules API, as its client v1.12 calls it (its base URL is this service's root).
  router.use(
    "/v2/schedule",
    chimeErrors((message) => ({ message })),
  );
  router.post("/v2/schedule", async (req, res) => {
    res.status(201).json(await deployChimeSchedule(ctx, principalOf(res), req.body));
  });
  router.get("/v2/schedule", async (req, res) => {
    res.json(await listChimeSchedules(ctx, principalOf(res), req.query));
  });
  router.get("/v2/schedule/count", async (req, res) => {
    res.json(await countChimeSchedules(ctx, principalOf(res), req.query));
  });
  router.delete("/v2/schedule", async (req, res) => {
    res.json(await removeChimeSchedule(ctx, principalOf(res), req.query));
  });

  return router;
}
