import { describe, expect, it } from "vitest";
import { CHIME_CONFIG, CHIME_FIELDS, chimeCall } from "./support/chime.js";
import { useTestService } from "./support/service.js";

/**
 * The PUTs CHIME's tests (workflow v1.12, tests/test_transfer.py, test_audit.py) send with one
 * admin token after `Work.withdraw`: the whole work back (`Work.update` sends its payload, every
 * field of CHIME's model, null when unset) with a status and other fields changed. Then the
 * requests its transfer daemon (workflow/daemons/transfer.py) sends to find and move them.
 */

type Stored = Record<string, unknown> & { id: string; attempt: number; retries: number };

const { t } = useTestService(import.meta.filename);

/** CHIME's session: one token, in x-access-token. */
const chime = (method: string, path: string, body?: unknown, token = t.tokens.admin) =>
  chimeCall(t, token, method, path, body);

/** `Work(pipeline=..., event=[i, i + 1], tags=[str(i)], site="local", user=...).deposit()`. */
const depositAs = async (pipeline: string, user: string, token = t.tokens.admin) => {
  const payload = Object.fromEntries(CHIME_FIELDS.map((f) => [f, null]));
  const work = {
    ...payload,
    pipeline,
    site: "local",
    user,
    event: [1, 2],
    tags: ["1"],
    config: CHIME_CONFIG,
  };
  const got = await chime("POST", "/work?return_ids=True", [work], token);
  expect(got.status, JSON.stringify(got.body)).toBe(200);
};

/** `Work.withdraw(pipeline=...)`, as the payload of CHIME's model. */
const withdraw = async (pipeline: string, token = t.tokens.admin): Promise<Stored> => {
  const got = await chime("POST", "/work/withdraw", { pipeline }, token);
  expect(got.status, JSON.stringify(got.body)).toBe(200);
  const work = got.body as Record<string, unknown>;
  return Object.fromEntries(CHIME_FIELDS.map((f) => [f, work[f] ?? null])) as Stored;
};
const update = (work: Stored, token = t.tokens.admin) => chime("PUT", "/work", [work], token);
const view = async (query: Record<string, unknown>, projection: Record<string, unknown> = {}) => {
  const got = await chime("POST", "/view", {
    query,
    projection: { ...projection, _id: false },
    skip: 0,
    limit: 50,
  });
  expect(got.status, JSON.stringify(got.body)).toBe(200);
  return got.body as Stored[];
};
const DAY = 86_400;
const now = () => Date.now() / 1000;

describe("what an admin may set beside an outcome", () => {
  it("test_sucessful_work_delete: status success with config.archive.results flipped", async () => {
    await depositAs("sample-0", "admin");
    const withdrawn = await withdraw("sample-0");
    const config = withdrawn.config as { archive: Record<string, unknown> };
    config.archive.results = false;
    const got = await update({ ...withdrawn, status: "success" });
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    // The daemon's first query sees it as a success not to keep, so it deletes it.
    const [found] = await view(
      { status: "success", pipeline: "sample-0" },
      { id: true, config: true },
    );
    expect(found).toMatchObject({ id: withdrawn.id, config: { archive: { results: false } } });
  });

  it("test_failed_work_transfer: status failure with attempt = retries ends its tries", async () => {
    await depositAs("sample-3", "admin");
    const withdrawn = await withdraw("sample-3");
    expect(withdrawn).toMatchObject({ attempt: 1, retries: 2 });
    const got = await update({ ...withdrawn, status: "failure", attempt: withdrawn.retries });
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    // Final: the failed audit leaves it, and the daemon's query for failures without tries finds it.
    expect((await chime("GET", "/audit/failed")).body).toBe(0);
    const found = await view(
      {
        status: "failure",
        $expr: { $gte: ["$attempt", "$retries"] },
        creation: { $gt: now() - 7 * DAY },
        pipeline: "sample-3",
      },
      { id: true, config: true },
    );
    expect(found.map((w) => w.id)).toEqual([withdrawn.id]);
    const [stored] = await view({ id: withdrawn.id });
    expect(stored).toMatchObject({ status: "failure", attempt: 1, retries: 0 });
    expect(stored).not.toHaveProperty("retryAt");
  });

  it("test_delete_stale_work: status failure with creation backdated and retries lowered", async () => {
    await depositAs("sample-4", "admin");
    const withdrawn = await withdraw("sample-4");
    const creation = now() - 14 * DAY - 1;
    const got = await update({
      ...withdrawn,
      status: "failure",
      creation,
      retries: 1,
      attempt: 1,
    });
    expect(got.status, JSON.stringify(got.body)).toBe(200);
    const stale = await view(
      { creation: { $lt: now() - 7 * DAY }, pipeline: "sample-4" },
      { id: true },
    );
    expect(stale.map((w) => w.id)).toEqual([withdrawn.id]);
    expect((await view({ id: withdrawn.id }))[0]).toMatchObject({ retries: 1, creation });
  });

  it("an admin lowers retries or changes config.archive of a running work; the rest is refused naming the field", async () => {
    await depositAs("admin-running", "admin");
    const withdrawn = await withdraw("admin-running");
    const lowered = await update({ ...withdrawn, retries: 0 });
    expect(lowered.status, JSON.stringify(lowered.body)).toBe(200);
    expect((await view({ id: withdrawn.id }))[0]).toMatchObject({ status: "running", retries: 0 });

    const refusals: [Record<string, unknown>, number, string][] = [
      [{ status: "success", function: "other.module.run" }, 403, "function"],
      [{ status: "failure", site: "elsewhere" }, 403, "site"],
      [{ status: "success", tags: ["changed"] }, 403, "tags"],
      [{ priority: 5 }, 409, "priority"],
    ];
    for (const [changed, status, field] of refusals) {
      const got = await update({ ...withdrawn, retries: 0, ...changed });
      expect(got.status, JSON.stringify(got.body)).toBe(status);
      const named = status === 403 ? `field \\"${field}\\"` : `its ${field} can change`;
      expect(JSON.stringify(got.body)).toContain(named);
    }
    const priority = await update({ ...withdrawn, status: "success", priority: 5 });
    expect(priority.status).toBe(403);
    expect(JSON.stringify(priority.body)).toContain('field \\"priority\\"');
    // Nothing of the refused items was written: the work still runs.
    expect((await view({ id: withdrawn.id }))[0]).toMatchObject({ status: "running" });
  });

  it("nobody but an admin: a worker's failure with attempt = retries is still a stale attempt, its retries still refused", async () => {
    await depositAs("worker-only", "admin");
    const withdrawn = await withdraw("worker-only", t.tokens.worker);
    const ahead = await update(
      { ...withdrawn, status: "failure", attempt: withdrawn.retries },
      t.tokens.worker,
    );
    expect(ahead.status).toBe(409);
    const retries = await update({ ...withdrawn, status: "failure", retries: 0 }, t.tokens.worker);
    expect(retries.status).toBe(403);
    expect(JSON.stringify(retries.body)).toContain('field \\"retries\\"');
  });
});

describe("the transfer daemon's round, with the requests it sends", () => {
  it("finds successes, final failures and stale works, keeps those to keep, deletes all from buckets", async () => {
    for (const pipeline of ["tx-ok", "tx-drop", "tx-fail", "tx-stale"]) {
      await depositAs(pipeline, "admin");
    }
    const ok = await withdraw("tx-ok");
    expect((await update({ ...ok, status: "success" })).status).toBe(200);
    const drop = await withdraw("tx-drop");
    (drop.config as { archive: Record<string, unknown> }).archive.results = false;
    expect((await update({ ...drop, status: "success" })).status).toBe(200);
    const fail = await withdraw("tx-fail");
    expect((await update({ ...fail, status: "failure", attempt: fail.retries })).status).toBe(200);
    const stale = await withdraw("tx-stale");
    const backdated = { ...stale, status: "failure", creation: now() - 14 * DAY, retries: 1 };
    expect((await update(backdated)).status).toBe(200);

    const mine = { pipeline: { $in: ["tx-ok", "tx-drop", "tx-fail", "tx-stale"] } };
    const cutoff = now() - 7 * DAY;
    const transfer: string[] = [];
    const remove: string[] = [];
    const sort = (works: Stored[]) => {
      for (const work of works) {
        const keep = (work.config as { archive: { results: boolean } }).archive.results;
        (keep ? transfer : remove).push(work.id);
      }
    };
    sort(await view({ status: "success", ...mine }, { id: true, config: true }));
    sort(
      await view(
        {
          status: "failure",
          $expr: { $gte: ["$attempt", "$retries"] },
          creation: { $gt: cutoff },
          ...mine,
        },
        { id: true, config: true },
      ),
    );
    remove.push(
      ...(await view({ creation: { $lt: cutoff }, ...mine }, { id: true })).map((w) => w.id),
    );
    expect(new Set(transfer)).toEqual(new Set([ok.id, fail.id]));
    expect(new Set(remove)).toEqual(new Set([drop.id, stale.id]));

    const payload = (
      await chime("POST", "/view", {
        query: { id: { $in: transfer } },
        projection: { _id: false },
        skip: 0,
        limit: 150,
      })
    ).body as Stored[];
    const kept = await chime("POST", "/results-service/results", payload);
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
    const ids = [...remove, ...transfer];
    const query = ids.map((id) => `ids=${id}`).join("&");
    expect((await chime("DELETE", `/work?${query}`)).status).toBe(200);

    expect(await view(mine)).toEqual([]);
    const results = await chime("POST", "/results-service/view", {
      query: { pipeline: { $in: ["tx-ok", "tx-fail"] } },
      projection: { id: true, status: true },
      skip: 0,
      limit: 10,
    });
    expect(new Set((results.body as Stored[]).map((r) => `${r.id} ${r.status}`))).toEqual(
      new Set([`${ok.id} success`, `${fail.id} failure`]),
    );
  });
});
