import { CLAIM_HEADER } from "@workflow/work";
import type { Request, RequestHandler, Response } from "express";
import type { Keys } from "../auth/keys.js";
import { createVerifier, type Principal } from "../auth/tokens.js";
import { refuse } from "../errors.js";
import { type Holder, holderFor } from "../service/claimant.js";

/** Reads the bearer token (`Authorization: Bearer T` or `x-access-token: T`) into res.locals. */
export function authenticate(keys: Keys): RequestHandler {
  const verify = createVerifier(keys);
  return (req, res, next) => {
    const header = req.get("authorization");
    const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? req.get("x-access-token");
    if (!token) {
      throw refuse(
        "token_missing",
        "no token: send `Authorization: Bearer <token>` or `x-access-token: <token>`",
      );
    }
    res.locals.principal = verify(token);
    next();
  };
}

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/** Who acts for an attempt: the token, and the claim secret it sent in the claim header. */
export function holderOf(req: Request, res: Response): Holder {
  return holderFor(principalOf(res), req.get(CLAIM_HEADER), `header ${CLAIM_HEADER}`);
}
