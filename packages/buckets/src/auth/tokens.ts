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
  /** A jsonwebtoken duration such as "30d"; absent means no expiry. */
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
  return jwt.sign(claims, keys.signKey, {
    algorithm: keys.algorithm,
    ...(options.expiresIn ? { expiresIn: options.expiresIn as jwt.SignOptions["expiresIn"] } : {}),
  });
}

/** Checks signature, algorithm (pinned, never `none`) and expiry, then the claims' shape. */
export function verifyToken(keys: Keys, token: string): Principal {
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
  return claims.data;
}
