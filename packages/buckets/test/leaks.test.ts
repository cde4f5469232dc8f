import { ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { runConfig } from "./support/runs.js";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/**
 * Logs go with their work, whichever way it goes; and a work deposited again with the id of one
 * that went (ids are the depositor's to choose) never shows the old one's logs, even those a crash
 * left behind.
 */

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;
const line = (text: string) => ({ t: Date.now(), stream: "stdout", text });

/** Claims the pipeline's next work as worker-1, writes a line of logs for it, and finishes it. */
async function runWithLogs(pipeline: string, text: string): Promise<string> {
  const claimed = await t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  const { id, attempt } = claimed.body as { id: string; attempt: number };
  const appended = await t.call("POST", `/work/${id}/logs?attempt=${attempt}`, {
    token: t.tokens.worker,
    body: { lines: [line(text)] },
  });
  expect(appended.status).toBe(200);
  const reported = await t.call("PUT", "/work", {
    token: t.tokens.worker,
    body: [{ id, attempt, status: "success" }],
  });
  expect(reported.status).toBe(200);
  return id;
}

const storedLogs = (ids: string[]) =>
  db.collection("logs").countDocuments({ work: { $in: ids.map((id) => new ObjectId(id)) } });

/** What a reader of the work sees of its logs: the work's last lines, and its attempt's logs. */
async function logsSeen(id: string, token: string): Promise<string[]> {
  const shown = await t.call("GET", `/work/${id}`, { token });
  expect(shown.status).toBe(200);
  const read = await t.call("GET", `/work/${id}/logs?format=json`, { token });
  expect(read.status).toBe(200);
  return [
    ...(shown.body as { logs: { lines: { text: string }[] } }).logs.lines.map((l) => l.text),
    ...(read.body as { lines: { text: string }[] }).lines.map((l) => l.text),
  ];
}

/** Bob deposits a work with the id, claims it, and reads its logs: none of them are alice's. */
async function bobReusesId(id: string): Promise<string[]> {
  const pipeline = fresh("bob");
  const deposited = await t.call("POST", "/work", {
    token: t.tokens.bob,
    body: [aWork({ id, user: "bob", pipeline })],
  });
  expect(deposited.status, JSON.stringify(deposited.body)).toBe(200);
  const claimed = await t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
  });
  expect(claimed.body).toMatchObject({ id, attempt: 1 });
  return logsSeen(id, t.tokens.bob);
}

describe("logs go with their work", () => {
  it("DELETE /work", async () => {
    const pipeline = fresh("delete");
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
    const id = await runWithLogs(pipeline, "alice's secret");
    expect(await storedLogs([id])).toBe(1);
    expect((await t.call("DELETE", `/work?ids=${id}`, { token: t.tokens.alice })).status).toBe(200);
    expect(await storedLogs([id])).toBe(0);
    expect(await bobReusesId(id)).toEqual([]);
  });

  it("DELETE /configs: the run's works and their logs", async () => {
    const name = fresh("config");
    const created = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: {
        config: runConfig(name, [
          { name: "a", matrix: { i: [1, 2] }, work: { command: ["true"] } },
        ]),
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const { id: run, works } = created.body as { id: string; works: string[] };
    const pipeline = (
      (await t.call("GET", `/work/${works[0]}`, { token: t.tokens.alice })).body as {
        pipeline: string;
      }
    ).pipeline;
    await runWithLogs(pipeline, "alice's secret");
    await runWithLogs(pipeline, "alice's other secret");
    expect(await storedLogs(works)).toBe(2);
    expect((await t.call("GET", `/runs/${run}`, { token: t.tokens.alice })).body).toMatchObject({
      status: "success",
    });
    const query = encodeURIComponent(JSON.stringify({ id: run }));
    const removed = await t.call("DELETE", `/configs?name=${name}&query=${query}`, {
      token: t.tokens.alice,
    });
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(await db.collection("works").countDocuments({ run: new ObjectId(run) })).toBe(0);
    expect(await storedLogs(works)).toBe(0);
    expect(await bobReusesId(works[0] as string)).toEqual([]);
  });

  it("a bulk delete", async () => {
    const pipeline = fresh("bulk");
    await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [aWork({ pipeline }), aWork({ pipeline })],
    });
    const ids = [
      await runWithLogs(pipeline, "alice's secret"),
      await runWithLogs(pipeline, "alice's other secret"),
    ];
    expect(await storedLogs(ids)).toBe(2);
    const done = await t.call("POST", "/work/bulk", {
      token: t.tokens.alice,
      body: { query: { pipeline }, action: "delete", confirmed: 2 },
    });
    expect(done.body).toMatchObject({ matched: 2, done: 2 });
    expect(await storedLogs(ids)).toBe(0);
    expect(await bobReusesId(ids[0] as string)).toEqual([]);
  });

  it("logs a crash (or retention's TTL, which removes works and logs apart) left behind are never shown with a work deposited again under the id", async () => {
    const pipeline = fresh("crash");
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
    const id = await runWithLogs(pipeline, "alice's secret");
    // The work goes, its logs stay: the instance died between the two deletes.
    await db.collection("works").deleteOne({ _id: new ObjectId(id) });
    expect(await storedLogs([id])).toBe(1);
    expect(await bobReusesId(id)).toEqual([]);
    // Bob's own logs are his work's, as ever.
    const appended = await t.call("POST", `/work/${id}/logs?attempt=1`, {
      token: t.tokens.worker,
      body: { lines: [line("bob's line")] },
    });
    expect(appended.status).toBe(200);
    expect(await logsSeen(id, t.tokens.bob)).toEqual(["bob's line", "bob's line"]);
  });

  it("a deposit repeated with the same id and content keeps the work's logs", async () => {
    const pipeline = fresh("repeat");
    const work = aWork({ id: new ObjectId().toHexString(), pipeline, creation: 1_800_000_000 });
    await t.call("POST", "/work", { token: t.tokens.alice, body: [work] });
    const id = await runWithLogs(pipeline, "kept");
    const again = await t.call("POST", "/work", { token: t.tokens.alice, body: [work] });
    expect(again.status).toBe(200);
    expect(await logsSeen(id, t.tokens.alice)).toEqual(["kept", "kept"]);
  });
});
