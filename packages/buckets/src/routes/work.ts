import { Router } from "express";
import { z } from "zod";
import { principalOf } from "../http/auth.js";
import type { Claimer } from "../service/claimer.js";
import type { ServiceContext } from "../service/context.js";
import { deposit } from "../service/deposit.js";
import type { Dispatcher } from "../service/dispatch.js";
import { cancel, heartbeat } from "../service/lifecycle.js";
import { parseId, parseIds, remove } from "../service/remove.js";
import { update } from "../service/update.js";
import { parseWith } from "../service/validate.js";
import { withdrawQuery } from "../service/withdraw.js";

export const MAX_CLAIM_COUNT = 100;

export const MAX_WAIT_SECONDS = 30;

const WithdrawParamsSchema = z.object({
  count: z.coerce.number().int().min(1).max(MAX_CLAIM_COUNT).optional(),
  wait: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional(),
});

const HeartbeatParamsSchema = z.object({
  attempt: z.coerce
    .number({ error: "attempt is required: ?attempt=<the attempt you hold>" })
    .int()
    .min(1),
});

/** What withdraw needs beyond the context: claims now, and the wait when there is nothing. */
export interface Withdrawing {
  claimer: Claimer;
  dispatcher: Dispatcher;
}

/** Deposit, withdraw, update and delete. */
export function workRoutes(ctx: ServiceContext, { claimer, dispatcher }: Withdrawing): Router {
  const router = Router();

  router.post("/work", async (req, res) => {
    const ids = await deposit(ctx, principalOf(res), req.body);
    res.json(String(req.query.return_ids).toLowerCase() === "true" ? ids : true);
  });

  router.post("/work/withdraw", async (req, res) => {
    const principal = principalOf(res);
    const params = parseWith(WithdrawParamsSchema, req.query, "query");
    const query = withdrawQuery(principal, req.body);
    const worker = workerId(req.get("x-worker-id"), `${principal.sub}@${req.ip}`);
    const since = dispatcher.generation;
    let claimed = await claimer(query, { count: params.count ?? 1, worker });
    if (claimed.length === 0 && params.wait) {
      // Held until a work comes or the wait ends; a client that hangs up stops waiting.
      const gone = new AbortController();
      res.on("close", () => gone.abort());
      const work = await dispatcher.wait(query, worker, params.wait, since, gone.signal);
      claimed = work ? [work] : [];
    }
    res.json(params.count === undefined ? (claimed[0] ?? null) : claimed);
  });

  router.post("/work/:id/heartbeat", async (req, res) => {
    const { attempt } = parseWith(HeartbeatParamsSchema, req.query, "query");
    res.json(await heartbeat(ctx, principalOf(res), parseId(req.params.id), attempt));
  });

  router.post("/work/:id/cancel", async (req, res) => {
    await cancel(ctx, principalOf(res), parseId(req.params.id));
    res.json(true);
  });

  router.put("/work", async (req, res) => {
    await update(ctx, principalOf(res), req.body);
    res.json(true);
  });

  router.delete("/work", async (req, res) => {
    await remove(ctx, principalOf(res), parseIds(req.query.ids));
    res.json(true);
  });

  return router;
}

/** The worker's self-description (host, pid, name), trimmed to something safe to store. */
function workerId(header: string | undefined, fallback: string): string {
  const cleaned = header
    ?.replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, 200);
  return cleaned || fallback;
}
