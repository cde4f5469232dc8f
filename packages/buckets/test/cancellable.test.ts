import { STATUSES } from "@workflow/work";
import { isCancellable } from "@workflow/work/statuses";
import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { TRANSITIONS } from "../src/machine.js";
import { works } from "../src/store/documents.js";
import { fromFilter } from "../src/store/transitions.js";
import { aWork, useTestService } from "./support/service.js";

/**
 * The dashboard offers Cancel by `isCancellable` (packages/work/statuses.ts); the service cancels
 * by machine.ts's `cancel` row. For every status, with and without a retry ahead, the button is
 * shown exactly where the table's row (the store's filter made from it) admits the work, and where
 * the service then cancels it: a change to either side alone fails here.
 */

const { t, db } = useTestService(import.meta.filename);

const CASES = STATUSES.flatMap((status) => [
  { status, retryAt: undefined },
  { status, retryAt: 1 },
]);

describe("the dashboard's Cancel button follows the transition table", () => {
  it("isCancellable's statuses are the cancel row's `from`", () => {
    const offered = STATUSES.filter((status) => isCancellable({ status, retryAt: 1 }));
    expect(offered).toEqual(STATUSES.filter((s) => TRANSITIONS.cancel.from.includes(s as never)));
  });

  it.each(CASES)("a work $status (retryAt $retryAt)", async ({ status, retryAt }) => {
    const pipeline = `cancellable-${new ObjectId().toHexString().slice(-8)}`;
    const deposited = await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline })],
    });
    expect(deposited.status).toBe(200);
    const [id] = deposited.body as [string];
    const _id = new ObjectId(id);
    // Put there directly: the test is about the status, not about how a work reaches it.
    await works(db).updateOne(
      { _id },
      retryAt === undefined ? { $set: { status } } : { $set: { status, retryAt } },
    );
    const admitted = (await works(db).countDocuments({ _id, ...fromFilter("cancel") })) === 1;

    const shown = await t.call("GET", `/work/${id}`, { token: t.tokens.alice });
    expect(shown.status).toBe(200);
    const work = shown.body as { status: string; retryAt?: number };
    expect(work.status).toBe(status);
    expect(isCancellable(work), "the dashboard's button").toBe(admitted);

    const cancel = await t.call("POST", `/work/${id}/cancel`, { token: t.tokens.alice });
    expect(cancel.status === 200, `POST /work/:id/cancel: ${JSON.stringify(cancel.body)}`).toBe(
      admitted,
    );
    const after = (await works(db).findOne({ _id }))?.status;
    expect(after).toBe(admitted ? "cancelled" : status);
  });
});
