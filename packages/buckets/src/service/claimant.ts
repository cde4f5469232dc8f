import { createHash, randomBytes } from "node:crypto";
import { ClaimSecretSchema } from "@workflow/work";
import type { Principal } from "../auth/tokens.js";
import { ServiceError } from "../errors.js";
import { type HeldBy, type Holder, isHeldBy } from "../store/index.js";
import { parseWith } from "./validate.js";

/**
 * A claim belongs to its claimer. Each withdraw gives its works a claim secret; the store keeps
 * only its digest and the token's subject. Whatever acts for the attempt afterwards (an outcome,
 * progress, a heartbeat, a release, a log append, a late report, Slack's reply) must come with the
 * same subject and, when it sends one, the same secret. Worker tokens shared by several workers are
 * told apart by the secret; a client that never sends it (CHIME's) is bound to its subject.
 */

export type { Holder };

const digest = (secret: string) => createHash("sha256").update(secret).digest("hex");

/** A fresh claim for `sub`: the secret the claimer is answered, and what the work records. */
export function newClaim(sub: string): { secret: string; claim: HeldBy } {
  const secret = randomBytes(16).toString("hex");
  return { secret, claim: { sub, secret: digest(secret) } };
}

/** Who asks, from its token and the claim secret it sent (`where` names it in errors). */
export function holderFor(principal: Principal, sent: unknown, where: string): Holder {
  if (sent === undefined || sent === null || sent === "") return { sub: principal.sub };
  return { sub: principal.sub, secret: digest(parseWith(ClaimSecretSchema, sent, where)) };
}

/** Refuses a holder that did not claim attempt `attempt` of work `id`. */
export function requireClaimer(
  held: HeldBy | undefined,
  holder: Holder,
  id: string,
  attempt: number,
): void {
  if (!isHeldBy(held, holder)) throw foreignClaim(id, attempt);
}

export function foreignClaim(id: string, attempt: number): ServiceError {
  return new ServiceError(
    "claim_lost",
    `work ${id}: attempt ${attempt} was claimed by another worker; only its claimer (the token that withdrew it, with the claim it was answered) may report, heartbeat, release or write logs for it`,
    { details: { id, attempt } },
  );
}
