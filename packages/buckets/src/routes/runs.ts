/** Routes of pipeline runs. Routes only parse and answer: the rules are in service/runs/. */

import type { RunCreated } from "@workflow/work";
import { Router } from "express";
import type { Principal } from "../auth/tokens.js";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { parseRunId } from "../service/runs/access.js";
import { cancelRun, getRun, listRuns, rerunRun } from "../service/runs/control.js";
import { checkRun, createRun } from "../service/runs/create.js";
import { mergeRunSteps } from "../service/runs/merge.js";
import { pauseRun, resumeRun } from "../service/runs/pause.js";
import { queryFlag } from "../service/validate.js";

type RunId = ReturnType<typeof parseRunId>;

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

  // Each answers for one run named by its id; the service checks the principal may see it.
  const onRun = (
    method: "get" | "post",
    path: string,
    answer: (
      ctx: ServiceContext,
      principal: Principal,
      id: RunId,
      body: unknown,
    ) => Promise<unknown>,
  ) =>
    router[method](`/runs/:id${path}`, async (req, res) => {
      res.json(await answer(ctx, principalOf(res), parseRunId(req.params.id), req.body));
    });
  onRun("get", "", getRun);
  onRun("post", "/cancel", cancelRun);
  onRun("post", "/rerun", rerunRun);
  onRun("post", "/pause", pauseRun);
  onRun("post", "/resume", resumeRun);
  onRun("post", "/steps", mergeRunSteps);

  return router;
}
