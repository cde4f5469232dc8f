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

/** CHIME's configs API (client v1.12) on runs; its CLI reads errors from `error_description`. */
export function configRoutes(ctx: ServiceContext): Router {
  const router = Router();
  router.use(
    "/configs",
    chimeErrors((message) => ({ error_description: [{ msg: message }] })),
  );

  router.post("/configs", async (req, res) => {
    res.json(await deployConfig(ctx, principalOf(res), req.body));
  });
  router.get("/configs", async (req, res) => {
    res.json(await listConfigs(ctx, principalOf(res), req.query));
  });
  router.get("/configs/count", async (_req, res) => {
    res.json(await countConfigs(ctx, principalOf(res)));
  });
  router.put("/configs/cancel", async (req, res) => {
    const stopped = await stopConfig(ctx, principalOf(res), req.query);
    if (stopped === null) res.status(304).end();
    else res.json(stopped);
  });
  router.delete("/configs", async (req, res) => {
    await removeConfig(ctx, principalOf(res), req.query);
    res.json(true);
  });
  router.post("/configs/retry", async (req, res) => {
    res.json(await retryConfig(ctx, principalOf(res), req.body));
  });
  router.post("/configs/migrate", () => {
    throw invalid("v1 configs are not migrated here: write a version 2 config and deploy it");
  });
  return router;
}
