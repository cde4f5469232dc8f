import { Collection, type Db, type MongoClient, ObjectId } from "mongodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testDb } from "../../../test/support/db.js";
import { TRANSITIONS } from "../src/index.js";
import type { TransitionName } from "../src/machine.js";
import { reap } from "../src/service/reaper.js";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * machine.ts's `writes` column is what the store writes: every update the service sends to the
 * works collection while it takes each transition of the table is recorded (at the driver, so a
 * write that sets a field to the value it had counts too), and each field it sets or removes must
 * be one the transitions it may be taking list.
 */

type Update = Record<string, unknown> | Record<string, unknown>[];

/** The fields an update sets or removes, as written (dotted paths kept). */
function fieldsOf(update: Update): string[] {
  const stages = Array.isArray(update) ? update : [update];
  const fields: string[] = [];
  for (const stage of stages) {
    for (const [op, arg] of Object.entries(stage)) {
      if (op === "$unset" && (typeof arg === "string" || Array.isArray(arg))) {
        fields.push(...[arg].flat());
      } else if (op.startsWith("$") && arg && typeof arg === "object" && !Array.isArray(arg)) {
        if (
          [
            "$set",
            "$addFields",
            "$unset",
            "$inc",
            "$push",
            "$addToSet",
            "$min",
            "$max",
            "$pull",
          ].includes(op)
        )
          fields.push(...Object.keys(arg));
        else fields.push(`(${op})`);
      } else fields.push(`(${op})`);
    }
  }
  return fields;
}

/** Whether a row's `writes` covers a field: listed, or within one that is. */
const covers = (writes: readonly string[], field: string) =>
  field === "status" || writes.some((w) => field === w || field.startsWith(`${w}.`));

/** What the current step may write, and what was found outside it. */
let window: { step: string; rows: TransitionName[] } | undefined;
const seen = new Map<string, number>();
const outside: string[] = [];
/** Writes between steps can only be the service's own (its evaluations, on its own time). */
const SERVICE_ROWS = (Object.keys(TRANSITIONS) as TransitionName[]).filter((name) =>
  (TRANSITIONS[name].who as readonly string[]).includes("service"),
);

/** Set while the test itself backdates a field: its own writes are no transition. */
let quiet = false;

function note(update: Update): void {
  if (quiet) return;
  const { step, rows } = window ?? { step: "(between steps)", rows: SERVICE_ROWS };
  seen.set(step, (seen.get(step) ?? 0) + 1);
  const writes = rows.flatMap((name) => TRANSITIONS[name].writes as readonly string[]);
  for (const field of fieldsOf(update)) {
    if (!covers(writes, field)) outside.push(`${step}: ${field} (not in ${rows.join(", ")})`);
  }
}

type Proto = Record<string, (...args: unknown[]) => unknown>;
const proto = Collection.prototype as unknown as Proto;
const originals = new Map<string, (...args: unknown[]) => unknown>();

function record(): void {
  for (const method of ["updateOne", "updateMany", "findOneAndUpdate"]) {
    const original = proto[method] as (...args: unknown[]) => unknown;
    originals.set(method, original);
    proto[method] = function (this: Collection, ...args: unknown[]) {
      if (this.collectionName === "works") note(args[1] as Update);
      return original.apply(this, args);
    };
  }
  const bulk = proto.bulkWrite as (...args: unknown[]) => unknown;
  originals.set("bulkWrite", bulk);
  proto.bulkWrite = function (this: Collection, ...args: unknown[]) {
    if (this.collectionName === "works") {
      for (const op of args[0] as Record<string, { update?: Update }>[]) {
        const [kind, body] = Object.entries(op)[0] as [string, { update?: Update }];
        if (body.update) note(body.update);
        else if (kind === "replaceOne") note({ "(replaceOne)": {} });
      }
    }
    return bulk.apply(this, args);
  };
}

let t: TestService;
let db: Db;
let mongo: MongoClient;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  ({ client: mongo, db } = await testDb(import.meta.filename, "", { drop: false }));
  record();
});
afterAll(async () => {
  for (const [method, original] of originals) proto[method] = original;
  await mongo.close();
  await t.close();
});

/** Runs one step of a work's life, allowed the writes of `rows`. */
async function step<T>(name: string, rows: TransitionName[], act: () => Promise<T>): Promise<T> {
  window = { step: name, rows };
  try {
    return await act();
  } finally {
    window = undefined;
  }
}

const ok = (answer: { status: number; body: unknown }) => {
  expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(300);
  return answer.body;
};
const works = () => db.collection("works");
const statusOf = async (id: string) =>
  (await works().findOne({ _id: ObjectId.createFromHexString(id) }))?.status;

type Claimed = { id: string; attempt: number };

async function deposit(pipeline: string, extra: Record<string, unknown> = {}): Promise<string> {
  const id = new ObjectId().toHexString();
  const work = aWork({ id, pipeline, ...extra });
  ok(await t.call("POST", "/work", { token: t.tokens.alice, body: [work] }));
  return id;
}

/** What only time would do (a lease ends, a retry falls due), done at once. */
async function backdate(id: string, set: Record<string, number>): Promise<void> {
  quiet = true;
  try {
    await works().updateOne({ _id: ObjectId.createFromHexString(id) }, { $set: set });
  } finally {
    quiet = false;
  }
}
const claim = (pipeline: string, lease = true, also: TransitionName[] = []) =>
  step("claim", ["claim", ...also], async () => {
    const path = lease ? "/work/withdraw?lease=60" : "/work/withdraw";
    return ok(
      await t.call("POST", path, { token: t.tokens.worker, body: { pipeline } }),
    ) as Claimed;
  });
const put = (token: string, item: Record<string, unknown>) =>
  t.call("PUT", "/work", { token, body: [item] });

describe("the store writes what the transition table says", () => {
  it("for each transition of a work", async () => {
    const id = await step("deposit", ["deposit"], () =>
      deposit("life", { retries: 2, notify: { slack: { channel_id: "C1" } } }),
    );
    let w = await claim("life");
    await step("heartbeat", ["heartbeat"], async () =>
      ok(
        await t.call("POST", `/work/${id}/heartbeat?attempt=${w.attempt}`, {
          token: t.tokens.worker,
        }),
      ),
    );
    await step("progress", ["progress"], async () =>
      ok(await put(t.tokens.worker, { id, attempt: w.attempt, results: { half: true } })),
    );
    await step("reschedule", ["reschedule", "backdate"], async () =>
      ok(await put(t.tokens.admin, { id, timeout: 7200 })),
    );
    await step("fail", ["fail"], async () =>
      ok(await put(t.tokens.worker, { id, attempt: w.attempt, status: "failure" })),
    );
    expect(await statusOf(id)).toBe("failure");
    await step("auditFailed", ["auditFailed"], async () =>
      ok(await t.call("GET", "/audit/failed")),
    );
    expect(await statusOf(id)).toBe("queued");

    w = await claim("life");
    await step("release", ["release"], async () =>
      ok(
        await t.call("POST", `/work/${id}/release?attempt=${w.attempt}`, {
          token: t.tokens.worker,
        }),
      ),
    );
    expect(await statusOf(id)).toBe("queued");

    // The reaper: a lease that ended without a heartbeat, then the retry once it is due.
    w = await claim("life");
    await backdate(id, { leaseUntil: 1 });
    await step("lapse", ["lapse", "retry"], () => reap(t.service.ctx));
    expect(await statusOf(id)).toBe("failure");
    await backdate(id, { retryAt: 1 });
    await step("retry", ["lapse", "retry"], () => reap(t.service.ctx));
    expect(await statusOf(id)).toBe("queued");

    w = await claim("life");
    await step("succeed", ["succeed"], async () =>
      ok(
        await put(t.tokens.worker, {
          id,
          attempt: w.attempt,
          status: "success",
          results: { n: 1 },
        }),
      ),
    );
    await step("reply", ["reply"], async () =>
      ok(
        await put(t.tokens.worker, {
          id,
          attempt: w.attempt,
          notify: { slack: { channel_id: "C1", reply: { ts: "1.2" } } },
        }),
      ),
    );
    await step("requeue", ["requeue"], async () =>
      ok(await put(t.tokens.alice, { id, status: "queued", priority: 2 })),
    );
    expect(await statusOf(id)).toBe("queued");
    await step("edit", ["edit"], async () => ok(await put(t.tokens.alice, { id, priority: 3 })));
    await step("backdate", ["backdate"], async () =>
      ok(await put(t.tokens.admin, { id, creation: 1 })),
    );
    await step("auditStale", ["auditStale"], async () => ok(await t.call("GET", "/audit/stale/1")));
    expect(await statusOf(id)).toBe("failure");

    // Past start + timeout: CHIME's audit of expired works.
    const late = await deposit("expiry");
    w = await claim("expiry", false);
    await backdate(late, { start: 1 });
    await step("auditExpired", ["auditExpired"], async () =>
      ok(await t.call("GET", "/audit/expired")),
    );
    expect(await statusOf(late)).toBe("failure");

    // Cancelled under its worker, which then reports what it had.
    const held = await deposit("held");
    w = await claim("held");
    await step("cancel", ["cancel"], async () =>
      ok(await t.call("POST", `/work/${held}/cancel`, { token: t.tokens.alice })),
    );
    await step("late", ["late"], async () =>
      ok(await put(t.tokens.worker, { id: held, attempt: w.attempt, results: { partial: true } })),
    );
    expect(await statusOf(held)).toBe("cancelled");

    expect([...seen.keys()]).toEqual(
      expect.arrayContaining(["release", "retry", "claim", "succeed", "cancel", "auditStale"]),
    );
    expect(outside).toEqual([]);
  });

  it("for each transition of a run's works", async () => {
    const config = {
      version: "2",
      name: "table",
      defaults: { site: "local" },
      pipeline: {
        steps: [
          {
            name: "fit",
            matrix: { i: [1, 2] },
            work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
          },
          { name: "sum", needs: ["fit"], work: { command: ["true"] } },
          {
            name: "alarm",
            needs: ["fit"],
            if: "needs.fit.result == 'failure'",
            work: { command: ["true"] },
          },
        ],
      },
    };
    const evaluation: TransitionName[] = ["unblock", "reuse", "skip", "pause"];
    const run = await step(
      "start",
      ["deposit", ...evaluation],
      async () =>
        (
          ok(await t.call("POST", "/runs", { token: t.tokens.alice, body: { config } })) as {
            id: string;
          }
        ).id,
    );
    const runId = ObjectId.createFromHexString(run);
    const count = (status: string, stepName?: string) =>
      works().countDocuments({ run: runId, status, ...(stepName ? { step: stepName } : {}) });
    const until = async (holds: () => Promise<boolean>) => {
      while (!(await holds())) await new Promise((r) => setTimeout(r, 20));
    };
    await step("pause", ["pause", ...evaluation], async () => {
      ok(await t.call("POST", `/runs/${run}/pause`, { token: t.tokens.alice }));
      await until(async () => (await count("waiting", "fit")) === 2);
    });
    await step("resume", evaluation, async () => {
      ok(await t.call("POST", `/runs/${run}/resume`, { token: t.tokens.alice }));
      await until(async () => (await count("queued", "fit")) === 2);
    });
    for (let i = 0; i < 2; i++) {
      const w = await claim("table", true, evaluation);
      await step("succeed in a run", ["succeed", ...evaluation], async () => {
        ok(await put(t.tokens.worker, { id: w.id, attempt: w.attempt, status: "success" }));
        if (i === 1)
          await until(
            async () =>
              (await count("skipped", "alarm")) === 1 && (await count("queued", "sum")) === 1,
          );
      });
    }
    const sum = await claim("table", true, evaluation);
    await step("succeed in a run", ["succeed", ...evaluation], async () => {
      ok(await put(t.tokens.worker, { id: sum.id, attempt: sum.attempt, status: "success" }));
      await until(
        async () =>
          ((await t.call("GET", `/runs/${run}`)).body as { status: string }).status === "success",
      );
    });
    await step("rerun", ["rerun", ...evaluation], async () => {
      ok(
        await t.call("POST", `/runs/${run}/rerun`, {
          token: t.tokens.alice,
          body: { steps: ["fit"], downstream: true },
        }),
      );
      await until(async () => (await count("queued", "fit")) === 2);
    });
    await step("cancel a run", ["cancel", ...evaluation], async () => {
      ok(await t.call("POST", `/runs/${run}/cancel`, { token: t.tokens.alice }));
    });
    expect(await count("cancelled")).toBeGreaterThan(0);
    expect([...seen.keys()]).toEqual(expect.arrayContaining(["pause", "rerun", "cancel a run"]));
    expect(outside).toEqual([]);
  });
});
