import { Router } from "express";
import { z } from "zod";
import { requireScope } from "../auth/access.js";
import type { Keys } from "../auth/keys.js";
import { mintToken, ScopeSchema } from "../auth/tokens.js";
import { ServiceError } from "../errors.js";
import { principalOf } from "../http/auth.js";
import { parseWith } from "../service/validate.js";

export const MintRequestSchema = z.strictObject({
  user: z.string().min(1),
  scopes: z.array(ScopeSchema).min(1),
  pipelines: z.array(z.string().min(1)).optional(),
  /** A duration such as "30d", "12h" or "3600" (seconds). */
  expiresIn: z
    .string()
    .regex(/^\d+(ms|s|m|h|d|w|y)?$/, { error: 'expiresIn must look like "30d", "12h" or "3600"' })
    .optional(),
});

/** Lets an admin mint tokens with the service's own key (`workflow token`). */
export function tokenRoutes(keys: Keys): Router {
  const router = Router();
  router.post("/tokens", (req, res) => {
    requireScope(principalOf(res), "admin");
    const request = parseWith(MintRequestSchema, req.body, "body");
    if (!keys.signKey) {
      throw new ServiceError(
        "conflict",
        "this service only verifies tokens (BUCKETS_JWT_PUBLIC_KEY); mint them where the private key is",
      );
    }
    res.json({
      token: mintToken(keys, {
        user: request.user,
        scopes: request.scopes,
        ...(request.pipelines ? { pipelines: request.pipelines } : {}),
        ...(request.expiresIn ? { expiresIn: request.expiresIn } : {}),
      }),
    });
  });
  return router;
}
