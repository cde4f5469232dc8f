/** Routes of CHIME's configs API, mapped onto runs. */

import { Router } from "express";
import { invalid } from "../errors.js";
import { principalOf } from "../http/auth.js";
import { chimeErrors } from "../http/chime.js";
import type { ServiceContext } from "../service/context.js";
import {
  countConfigs,
  deployConfig,
  listConfigs,
  removeConfig,
  retryConfig,
  stopConfig,
} from "../service/runs/configs.js";

/**
 * CHIME's configs API (client v1.12) on runs; its CLI reads errors from `error_description`.
 * Served under `base` too: CHIME's workspace names one base URL, `.../v2`, for its configs,
 * pipelines and schedules clients.
 */
export function configRoutes(ctx: ServiceContext, base = ""): Router {
  const router = Router();
  router.use(
    `${base}/configs`,
    chimeErrors((message) => ({ error_description: [{ msg: message }] })),
  );

  router.post(`${base}/configs`, async (req, res) => {
    res.json(await deployConfig(ctx, principalOf(res), req.body, req.query));
  });
  router.get(`${base}/configs`, async (req, res) => {
    res.json(await listConfigs(ctx, principalOf(res), req.query));
  });
  router.get(`${base}/configs/count`, async (_req, res) => {
    res.json(await countConfigs(ctx, principalOf(res)));
  });
  router.put(`${base}/configs/cancel`, async (req, res) => {
    const stopped = await stopConfig(ctx, principalOf(res), req.query);
    if (stopped === null) res.status(304).end();
    else res.json(stopped);
  });
  router.delete(`${base}/configs`, async (req, res) => {
    await removeConfig(ctx, principalOf(res), req.query);
    res.json(true);
  });
  router.post(`${base}/configs/retry`, async (req, res) => {
    res.json(await retryConfig(ctx, principalOf(res), req.body));
  });
  router.post(`${base}/configs/migrate`, () => {
    throw invalid("v1 configs are not migrated here: write a version 2 config and deploy it");
  });
  return router;
}
