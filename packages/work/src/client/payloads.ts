/**
 * Works as a deposit sends them: checked, with an id and creation time fixed so a retry says the
 * same.
 */

import { ObjectId } from "bson";
import { formatIssues, InvalidWorkError } from "../errors.js";
import { type WorkPayload, withoutStrategy } from "../payload.js";
import { placeholderProblem } from "../placeholders.js";
import { type Work, type WorkInput, WorkSchema } from "../schema.js";

/** A work as a deposit sends it: what the caller gave, checked, with its id and creation time. */
export type DepositPayload = Omit<WorkInput, "config"> & {
  id: string;
  creation: number;
  config?: WorkPayload["config"];
};

/**
 * Checks each work and gives it an id. What goes is what the caller gave: the service fills in
 * the same defaults from the same schema, so they need not travel (a work of a few fields would
 * otherwise double in size, and the service would check every default it sent back). Only the id
 * and `creation` (by default the time now) are fixed here, so that a retried request says the same
 * and is recognised. A work that already says both, and has no `config` to strip of its strategy,
 * goes as it is: every work is checked before any is sent, so on a large deposit copying them all
 * is time in which nothing is sent. A work with nothing to run is refused here, unless `supplied`
 * says its workers supply it: the service takes any (CHIME's client deposits such works).
 */
export function toPayloads(
  works: (WorkInput | Work)[],
  { supplied = false }: { supplied?: boolean } = {},
): DepositPayload[] {
  return works.map((work, index) => {
    const parsed = WorkSchema.safeParse(
      work.id === undefined ? { ...work, id: new ObjectId().toHexString() } : work,
    );
    if (!parsed.success) {
      throw new InvalidWorkError(
        `works[${index}]: ${formatIssues(parsed.error.issues)}`,
        parsed.error.issues,
      );
    }
    const { id, creation, config } = parsed.data;
    if (!supplied && parsed.data.function === undefined && parsed.data.command === undefined) {
      throw new InvalidWorkError(
        `works[${index}] names neither a function nor a command, so nothing would run it: name one, or deposit it as static (workflow deposit --static, client.deposit(works, {static: true})) when the workers of its pipeline supply their own (workflow run --function or --command)`,
        [],
      );
    }
    requireDataPlaceholders(parsed.data.command, `works[${index}]`);
    if (work.id === id && work.creation === creation && work.config == null) {
      return work as DepositPayload;
    }
    const payload: Record<string, unknown> = {};
    for (const key in work) if (key !== "config") payload[key] = work[key as keyof typeof work];
    payload.id = id;
    payload.creation = creation;
    // `config.strategy` stays on the client.
    if (work.config != null) payload.config = withoutStrategy(config);
    return payload as DepositPayload;
  });
}

/**
 * Refuses a command whose `{{name}}` placeholders a program could read as code, naming the item.
 * The check is this project's client's, not the service's: CHIME's client sends commands in which
 * `{{...}}` is plain text (it fills no placeholders), and the service takes them. This project's
 * worker checks again before it runs one, and fails the work rather than splice a value in.
 */
export function requireDataPlaceholders(command: readonly string[] | undefined, where: string) {
  const problem = command && placeholderProblem(command);
  if (problem) throw new InvalidWorkError(`${where}.${problem.message}`, []);
}
