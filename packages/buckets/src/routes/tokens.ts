/** Route that lets an admin mint tokens no wider than its own. */

import { type MintAnswer, MintRequestSchema } from "@workflow/work";
import { Router } from "express";
import { requireNoWider, requireScope } from "../auth/access.js";
import type { Keys } from "../auth/keys.js";
import { DEFAULT_LIFETIME, mintToken, parseLifetime } from "../auth/tokens.js";
import { ServiceError } from "../errors.js";
import { principalOf } from "../http/auth.js";
import { parseWith } from "../service/validate.js";

/**
 * Lets an admin mint tokens with the service's own key (`workflow token`), none wider than the
 * admin's own: its scopes, its pipelines, and a lifetime ending no later than its own.
 */
export function tokenRoutes(keys: Keys): Router {
  const router = Router();
  router.post("/tokens", (req, res) => {
    const principal = principalOf(res);
    requireScope(principal, "admin");
    const request = parseWith(MintRequestSchema, req.body, "body");
    if (!keys.signKey) {
      throw new ServiceError(
        "minting_off",
        "this service only verifies tokens (BUCKETS_JWT_PUBLIC_KEY); mint them where the private key is",
      );
    }
    const lifetime = requireNoWider(principal, {
      scopes: request.scopes,
      pipelines: request.pipelines,
      lifetime: request.expiresIn === undefined ? undefined : parseLifetime(request.expiresIn),
      defaultLifetime: parseLifetime(DEFAULT_LIFETIME) as number,
    });
    const minted: MintAnswer = {
      token: mintToken(keys, {
        user: request.user,
        scopes: request.scopes,
        ...(request.pipelines ? { pipelines: request.pipelines } : {}),
        expiresIn: lifetime === null ? "never" : String(lifetime),
      }),
    };
    res.json(minted);
  });
  return router;
}
