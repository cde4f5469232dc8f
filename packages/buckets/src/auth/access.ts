import { spokenDuration } from "@workflow/work";
import { refuse } from "../errors.js";
import type { Principal, Scope } from "./tokens.js";

/** What a principal may do. Admin may do everything. */
export function isAdmin(principal: Principal): boolean {
  return principal.scopes.includes("admin");
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return isAdmin(principal) || principal.scopes.includes(scope);
}

export function requireScope(principal: Principal, ...anyOf: Scope[]): void {
  if (!anyOf.some((scope) => hasScope(principal, scope))) {
    throw refuse(
      "scope_missing",
      `this needs the ${anyOf.join(" or ")} scope; the token has ${principal.scopes.join(", ") || "none"}`,
    );
  }
}

/**
 * Whether the principal may read what `owner` owns: readers (work:read) and admins read anyone's,
 * others only their own. What a principal may not read does not exist for it: it is answered as an
 * unknown id would be, and never counted.
 */
export function mayRead(principal: Principal, owner: string): boolean {
  return hasScope(principal, "work:read") || principal.sub === owner;
}

/** Refuses pipelines outside the token's `pipelines` claim. */
export function requirePipeline(principal: Principal, pipeline: string): void {
  if (principal.pipelines && !principal.pipelines.includes(pipeline)) {
    throw refuse(
      "pipeline_refused",
      `pipeline "${pipeline}" is outside this token's pipelines (${principal.pipelines.join(", ")})`,
    );
  }
}

/** Non-admins deposit, change and delete only their own works. */
export function requireOwner(principal: Principal, user: string, what: string): void {
  if (!isAdmin(principal) && principal.sub !== user) {
    throw refuse("not_owner", `${what} belongs to user "${user}", not "${principal.sub}"`);
  }
}

export interface TokenRequest {
  scopes: Scope[];
  pipelines?: string[] | undefined;
  /** Seconds, null for never, undefined when the caller named none. */
  lifetime: number | null | undefined;
  defaultLifetime: number;
}

/**
 * Refuses a token wider than the principal's own: a scope it lacks, a pipeline outside its own (or
 * none, which means all), a lifetime past its own expiry. Answers the lifetime to give, in seconds
 * (null for never): the one asked for, else the default cut to what is left of the principal's.
 */
export function requireNoWider(principal: Principal, request: TokenRequest): number | null {
  const missing = request.scopes.filter((scope) => !hasScope(principal, scope));
  if (missing.length > 0) {
    throw refuse("token_too_wide", `a token may not grant what it lacks: ${missing.join(", ")}`);
  }
  if (principal.pipelines) {
    const own = principal.pipelines;
    const outside = (request.pipelines ?? []).filter((name) => !own.includes(name));
    if (!request.pipelines || outside.length > 0) {
      throw refuse(
        "token_too_wide",
        `this token is limited to pipelines ${own.join(", ")}: name pipelines among them${
          outside.length ? ` (not ${outside.join(", ")})` : ""
        }`,
      );
    }
  }
  const asked = request.lifetime;
  if (principal.exp === undefined) return asked === undefined ? request.defaultLifetime : asked;
  const left = Math.floor(principal.exp - Date.now() / 1000);
  if (asked === undefined) return Math.max(1, Math.min(request.defaultLifetime, left));
  if (asked === null || asked > left) {
    throw refuse(
      "token_too_wide",
      `this token expires at ${new Date(principal.exp * 1000).toISOString()}, and a token it mints may not outlive it: ask for ${spokenDuration(left)} (${left} s) at most, or mint with a token that lasts longer`,
    );
  }
  return asked;
}
