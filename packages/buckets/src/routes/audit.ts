/** Routes of CHIME's audits, on demand. */

import { type AuditAnswer, AuditDaysSchema } from "@workflow/work";
import { Router } from "express";
import { principalOf } from "../http/auth.js";
import type { ServiceContext } from "../service/context.js";
import { type AuditKind, audit } from "../service/lifecycle.js";
import { parseWith, queryFlag } from "../service/validate.js";

/**
 * CHIME's audits, on demand (the reaper does their work on its own every few seconds). Each
 * answers a plain number, as CHIME's audit daemon expects; `?details=true` answers the parts.
 */
export function auditRoutes(ctx: ServiceContext): Router {
  const router = Router();
  const answer = (kind: AuditKind, days?: (params: Record<string, string>) => number) =>
    router.get(kind === "stale" ? "/audit/stale/:days" : `/audit/${kind}`, async (req, res) => {
      const details = queryFlag(req.query, "details");
      const counts = await audit(ctx, principalOf(res), kind, days?.(req.params));
      res.json((details ? counts : counts.total) satisfies AuditAnswer);
    });
  answer("failed");
  answer("expired");
  answer("stale", (params) => parseWith(AuditDaysSchema, params.days, "days"));
  return router;
}
