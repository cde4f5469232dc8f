/** Routes of the queue: deposit, withdraw, update and delete, and the life of one attempt. */

import { AttemptParamsSchema } from "@workflow/work";
import { Router } from "express";
import { holderOf, principalOf } from "../http/auth.js";
import { noteContact } from "../service/contacts.js";
import type { ServiceContext } from "../service/context.js";
import { deposit } from "../service/deposit.js";
import { cancel, heartbeat, release } from "../service/lifecycle.js";
import { parseId, parseIds, remove } from "../service/remove.js";
import { update } from "../service/update.js";
import { parseWith, queryFlag } from "../service/validate.js";
import { type Withdrawing, withdraw } from "../service/withdraw.js";

/** Deposit, withdraw, update and delete, and the life of one attempt. */
export function workRoutes(ctx: ServiceContext, withdrawing: Withdrawing): Router {
  const router = Router();

  router.post("/work", async (req, res) => {
    // `?static=true`, which this project's client once sent, changes nothing: any work is taken.
    const returnIds = queryFlag(req.query, "return_ids");
    const ids = await deposit(ctx, principalOf(res), req.body);
    res.json(returnIds ? ids : true);
  });

  router.post("/work/withdraw", async (req, res) => {
    const principal = principalOf(res);
    const gone = new AbortController();
    // Only a caller that hung up before its answer stops a wait: aborting after every answer built
    // a DOMException (with its stack) per claim, for nothing.
    res.on("close", () => {
      if (!res.writableFinished) gone.abort();
    });
    const claimed = await withdraw(ctx, withdrawing, principal, {
      filter: req.body,
      params: req.query,
      worker: workerId(req.get("x-worker-id"), `${principal.sub}@${req.ip}`),
      signal: gone.signal,
    });
    res.json(claimed);
  });

  router.post("/work/:id/heartbeat", async (req, res) => {
    const params = parseWith(AttemptParamsSchema, req.query, "query");
    const id = parseId(req.params.id);
    const principal = principalOf(res);
    const answer = await heartbeat(ctx, principal, id, params, holderOf(req, res));
    const worker = workerId(req.get("x-worker-id"), `${principal.sub}@${req.ip}`);
    await noteContact(ctx, { user: principal.sub, worker }, "heartbeat");
    res.json(answer);
  });

  router.post("/work/:id/release", async (req, res) => {
    const params = parseWith(AttemptParamsSchema, req.query, "query");
    await release(ctx, principalOf(res), parseId(req.params.id), params, holderOf(req, res));
    res.json(true);
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

/**
 * The longest worker id kept. Longer ones are truncated, not refused: the id only labels the
 * worker for operators, and refusing it would stop a worker whose host name is long from working.
 */
export const WORKER_ID_MAX = 200;

/** The worker's self-description (host, pid, name), trimmed to printable ASCII, safe to store. */
function workerId(header: string | undefined, fallback: string): string {
  const cleaned = header
    ?.replace(/[^\x20-\x7e]/g, "")
    .trim()
    .slice(0, WORKER_ID_MAX);
  return cleaned || fallback;
}
