import { forbidden } from "../errors.js";
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
    throw forbidden(
      `this needs the ${anyOf.join(" or ")} scope; the token has ${principal.scopes.join(", ") || "none"}`,
    );
  }
}

/** Refuses pipelines outside the token's `pipelines` claim. */
export function requirePipeline(principal: Principal, pipeline: string): void {
  if (principal.pipelines && !principal.pipelines.includes(pipeline)) {
    throw forbidden(
      `pipeline "${pipeline}" is outside this token's pipelines (${principal.pipelines.join(", ")})`,
    );
  }
}

/** Non-admins deposit, change and delete only their own works. */
export function requireOwner(principal: Principal, user: string, what: string): void {
  if (!isAdmin(principal) && principal.sub !== user) {
    throw forbidden(`${what} belongs to user "${user}", not "${principal.sub}"`);
  }
}
