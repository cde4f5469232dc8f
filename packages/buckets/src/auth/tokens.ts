import jwt from "jsonwebtoken";
import { z } from "zod";
import { unauthorized } from "../errors.js";
import type { Keys } from "./keys.js";

export const SCOPES = ["work:deposit", "work:withdraw", "work:read", "admin"] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/** What a token says about its bearer. */
export const ClaimsSchema = z.object({
  sub: z.string().min(1),
  scopes: z.array(ScopeSchema),
  pipelines: z.array(z.string().min(1)).optional(),
});
export type Principal = z.infer<typeof ClaimsSchema>;

export interface MintOptions {
  user: string;
  scopes: Scope[];
  pipelines?: string[];
  /** A duration such as "30d", "12h" or "3600" (a bare number is seconds); absent means no expiry. */
  expiresIn?: string;
}

export function mintToken(keys: Keys, options: MintOptions): string {
  if (!keys.signKey) {
    throw new Error(
      "cannot mint tokens with only BUCKETS_JWT_PUBLIC_KEY: set BUCKETS_JWT_PRIVATE_KEY or BUCKETS_JWT_SECRET",
    );
  }
  const claims: Principal = {
    sub: options.user,
    scopes: options.scopes,
    ...(options.pipelines?.length ? { pipelines: options.pipelines } : {}),
  };
  // jsonwebtoken reads a numeric string as milliseconds: "3600" would last 3.6 s.
  const expiresIn = options.expiresIn?.replace(/^(\d+)$/, "$1s");
  return jwt.sign(claims, keys.signKey, {
    algorithm: keys.algorithm,
    ...(expiresIn ? { expiresIn: expiresIn as jwt.SignOptions["expiresIn"] } : {}),
  });
}

/** How many verified tokens a service remembers; past that it forgets them all and starts again. */
const REMEMBERED = 10_000;

/**
 * A verifier that remembers the tokens it has accepted until they expire: a worker sends the same
 * token with every request, and checking its signature each time was a tenth of a claim's cost.
 * Only tokens that passed are kept, so a wrong one is checked (and refused) every time.
 */
export function createVerifier(keys: Keys): (token: string) => Principal {
  const accepted = new Map<string, { principal: Principal; expires: number }>();
  return (token) => {
    const known = accepted.get(token);
    if (known && known.expires > Date.now() / 1000) return known.principal;
    const { principal, expires } = verify(keys, token);
    if (accepted.size >= REMEMBERED) accepted.clear();
    accepted.set(token, { principal, expires });
    return principal;
  };
}

/** Checks signature, algorithm (pinned, never `none`) and expiry, then the claims' shape. */
export function verifyToken(keys: Keys, token: string): Principal {
  return verify(keys, token).principal;
}

function verify(keys: Keys, token: string): { principal: Principal; expires: number } {
  let payload: unknown;
  try {
    payload = jwt.verify(token, keys.verifyKey, { algorithms: [keys.algorithm] });
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) {
      throw unauthorized("token expired: ask an operator for a new one");
    }
    throw unauthorized(`invalid token: ${(error as Error).message}`);
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) {
    throw unauthorized("invalid token: it needs `sub` and `scopes` claims");
  }
  const exp = (payload as { exp?: unknown }).exp;
  return {
    principal: claims.data,
    expires: typeof exp === "number" ? exp : Number.POSITIVE_INFINITY,
  };
}
