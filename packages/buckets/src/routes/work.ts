import { Router } from "express";
import { z } from "zod";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { deposit } from "../service/deposit.js";
import { parseIds, remove } from "../service/remove.js";
import { update } from "../service/update.js";
import { parseWith } from "../service/validate.js";
import { claim, withdrawQuery } from "../service/withdraw.js";

export const MAX_CLAIM_COUNT = 100;

const WithdrawParamsSchema = z.object({
  count: z.coerce.number().int().min(1).max(MAX_CLAIM_COUNT).optional(),
});

/** Deposit, withdraw, update and delete. */
export function workRoutes(ctx: ServiceContext): Router {
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
    const claimed = await claim(ctx, query, { count: params.count ?? 1, worker });
    res.json(params.count === undefined ? (claimed[0] ?? null) : claimed);
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
  const cleaned = header?.replace(/[^\x20-\x7e]/g, "").trim().slice(0, 200);
  return cleaned || fallback;
}
