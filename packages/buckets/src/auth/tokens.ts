import {
  type DurationUnit,
  LIFETIME_HELP,
  LIFETIME_PATTERN,
  SCOPES,
  type Scope,
  ScopeSchema,
  UNIT_SECONDS,
} from "@workflow/work";
import jwt from "jsonwebtoken";
import { z } from "zod";
import { invalid, refuse } from "../errors.js";
import { type Keys, keysFor, type VerifyingKey } from "./keys.js";

/** Scopes and lifetimes are the client's vocabulary too: they live in @workflow/work. */
export { SCOPES, type Scope, ScopeSchema };

/** What a token says about its bearer. */
export const ClaimsSchema = z.object({
  sub: z.string().min(1),
  scopes: z.array(ScopeSchema),
  pipelines: z.array(z.string().min(1)).optional(),
  /** Unix seconds; absent for a token that never expires. */
  exp: z.number().optional(),
});
export type Principal = z.infer<typeof ClaimsSchema>;

/** A token's lifetime when nobody names one. */
export const DEFAULT_LIFETIME = "30d";
/** The lifetime of the admin token `serve` prints on a fresh install. */
export const PRINTED_ADMIN_LIFETIME = "24h";

export { LIFETIME_HELP, LIFETIME_PATTERN };

/** The longest lifetime with an end: past a century, say "never". */
const MAX_LIFETIME_SECONDS = 100 * UNIT_SECONDS.y;

/** Seconds, or null for "never". A bare number is seconds. */
export function parseLifetime(text: string): number | null {
  if (!LIFETIME_PATTERN.test(text)) throw invalid(`${LIFETIME_HELP}, not "${text}"`);
  if (text === "never") return null;
  const unit = /[smhdwy]$/.test(text) ? (text.at(-1) as DurationUnit) : "s";
  const seconds = Number.parseInt(text, 10) * UNIT_SECONDS[unit];
  if (seconds > MAX_LIFETIME_SECONDS) {
    throw invalid(`a lifetime of "${text}" is over 100 years: say "never" if that is meant`);
  }
  return seconds;
}

export interface MintOptions {
  user: string;
  scopes: Scope[];
  pipelines?: string[];
  /** A lifetime such as "30d", "12h", "3600" (seconds) or "never"; absent means "never". */
  expiresIn?: string;
}

export function mintToken(keys: Keys, options: MintOptions): string {
  if (!keys.signKey) {
    throw new Error(
      "cannot mint tokens with only BUCKETS_JWT_PUBLIC_KEY: set BUCKETS_JWT_PRIVATE_KEY or BUCKETS_JWT_SECRET",
    );
  }
  const claims = {
    sub: options.user,
    scopes: options.scopes,
    ...(options.pipelines?.length ? { pipelines: options.pipelines } : {}),
  };
  const seconds = options.expiresIn === undefined ? null : parseLifetime(options.expiresIn);
  return jwt.sign(claims, keys.signKey, {
    algorithm: keys.algorithm,
    keyid: keys.kid,
    ...(seconds === null ? {} : { expiresIn: seconds }),
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

/** Checks signature, algorithm (pinned per key, never `none`) and expiry, then the claims' shape. */
export function verifyToken(keys: Keys, token: string): Principal {
  return verify(keys, token).principal;
}

function verify(keys: Keys, token: string): { principal: Principal; expires: number } {
  let payload: unknown;
  try {
    const header = jwt.decode(token, { complete: true })?.header;
    if (!header) throw new Error("jwt malformed");
    payload = verifyWithAny(token, keysFor(keys, header));
  } catch (error) {
    if (error instanceof jwt.TokenExpiredError) {
      throw refuse("token_expired", "token expired: ask an operator for a new one");
    }
    throw refuse("token_invalid", `invalid token: ${(error as Error).message}`);
  }
  const claims = ClaimsSchema.safeParse(payload);
  if (!claims.success) {
    throw refuse("token_invalid", "invalid token: it needs `sub` and `scopes` claims");
  }
  return {
    principal: claims.data,
    expires: claims.data.exp ?? Number.POSITIVE_INFINITY,
  };
}

/** The first key that verifies the token; else the first key's error (an expiry is said as such). */
function verifyWithAny(token: string, candidates: VerifyingKey[]): unknown {
  let first: unknown;
  for (const key of candidates) {
    try {
      return jwt.verify(token, key.verifyKey, { algorithms: [key.algorithm] });
    } catch (error) {
      if (error instanceof jwt.TokenExpiredError) throw error;
      first ??= error;
    }
  }
  throw first;
}
