/** Routes of the results store, shaped as CHIME's results service. */

import { RESULTS_PREFIX } from "@workflow/work";
import { Router } from "express";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import {
  countResults,
  depositResults,
  removeResults,
  resultCounts,
  updateResults,
  viewResults,
} from "../service/results.js";
import { VERSION } from "../version.js";

/**
 * The results store under RESULTS_PREFIX, shaped as CHIME's results service: a client given
 * `http://host:port/results-service` as its base URL finds every path it asks for. Full paths,
 * not a mounted router, so that the route walk of the tests sees them as served.
 */
const at = (path: string) => `${RESULTS_PREFIX}${path}`;

/** GET {prefix}/version needs no token: clients probe it to choose a base URL, as /version. */
export function resultsPublicRoutes(): Router {
  const router = Router();
  router.get(at("/version"), (_req, res) => {
    res.json({ version: VERSION, service: "results" });
  });
  return router;
}

export function resultsRoutes(ctx: ServiceContext, { maxBytes }: { maxBytes: number }): Router {
  const router = Router();
  router.post(at("/results"), async (req, res) => {
    res.json(await depositResults(ctx, principalOf(res), req.body));
  });
  router.put(at("/results"), async (req, res) => {
    res.json(await updateResults(ctx, principalOf(res), req.body));
  });
  router.delete(at("/results"), async (req, res) => {
    res.json(await removeResults(ctx, principalOf(res), req.query));
  });
  router.post(at("/view"), async (req, res) => {
    res.type("json").send(await viewResults(ctx, principalOf(res), req.body, maxBytes));
  });
  router.post(at("/view/count"), async (req, res) => {
    res.json(await countResults(ctx, principalOf(res), req.body));
  });
  router.get(at("/status"), async (_req, res) => {
    res.json(await resultCounts(ctx, principalOf(res)));
  });
  return router;
}
