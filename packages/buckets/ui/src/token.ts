/**
 * What a token claims, read from its payload for display only: the service checks the signature
 * and enforces the scopes on every call.
 */

export interface Claims {
  sub: string;
  scopes: string[];
  pipelines?: string[];
  exp?: number;
}

export function claimsOf(token: string): Claims | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const payload = JSON.parse(json) as Partial<Claims>;
    if (typeof payload.sub !== "string" || !Array.isArray(payload.scopes)) return null;
    return {
      sub: payload.sub,
      scopes: payload.scopes.filter((s): s is string => typeof s === "string"),
      ...(Array.isArray(payload.pipelines) ? { pipelines: payload.pipelines } : {}),
      ...(typeof payload.exp === "number" ? { exp: payload.exp } : {}),
    };
  } catch {
    return null;
  }
}

/** Owners (work:deposit) and admins act; a read token only sees. */
export function canAct(claims: Claims | null): boolean {
  return !!claims && (claims.scopes.includes("admin") || claims.scopes.includes("work:deposit"));
}

export function expired(claims: Claims, now = Date.now() / 1000): boolean {
  return claims.exp !== undefined && claims.exp <= now;
}
