import { CLAIM_HEADER } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aWork, startTestService, type TestService } from "./support/service.js";

/**
 * A worker names the pipeline of the work it acts on (`?pipeline=`, README's Sizing): the service
 * looks for the work there only, so a wrong one finds no work, and one the token may not serve is
 * refused as if the work did not exist. Without it, the work is found by its id as before.
 */

interface Claimed {
  id: string;
  attempt: number;
  pipeline: string;
  claim: string;
}

let t: TestService;
let limited: string;
beforeAll(async () => {
  t = await startTestService(import.meta.filename, { BUCKETS_REAP_SECONDS: "3600" });
  limited = t.token("node-l", ["work:withdraw", "work:read"], ["named-a"]);
});
afterAll(() => t.close());

async function claimed(pipeline: string, token = t.tokens.worker): Promise<Claimed> {
  await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline })] });
  const got = await t.call("POST", "/work/withdraw?lease=30", { token, body: { pipeline } });
  expect(got.status).toBe(200);
  return got.body as Claimed;
}

const act = (work: Claimed, action: string, pipeline?: string, token = t.tokens.worker) =>
  t.call(
    "POST",
    `/work/${work.id}/${action}?attempt=${work.attempt}${pipeline ? `&pipeline=${pipeline}` : ""}`,
    {
      token,
      headers: { [CLAIM_HEADER]: work.claim },
      ...(action === "logs" ? { body: { lines: [{ stream: "stdout", text: "x", t: 1 }] } } : {}),
    },
  );

describe("heartbeats, releases and log appends that name the work's pipeline", () => {
  it("act on the work in its pipeline, and find none in another", async () => {
    const work = await claimed("named-a");
    expect((await act(work, "heartbeat", "named-a")).body).toEqual({ cancel: false });
    expect((await act(work, "logs", "named-a")).status).toBe(200);
    for (const action of ["heartbeat", "logs", "release"]) {
      const wrong = await act(work, action, "named-other");
      expect(wrong.status, action).toBe(404);
      expect(JSON.stringify(wrong.body)).toContain(`no work with id ${work.id}`);
    }
    expect((await act(work, "release", "named-a")).status).toBe(200);
    const [after] = (await t.call("POST", "/view", { body: { query: { id: work.id } } })).body as {
      status: string;
    }[];
    expect(after?.status).toBe("queued");
  });

  it("without a pipeline, act as before", async () => {
    const work = await claimed("named-b");
    expect((await act(work, "heartbeat")).body).toEqual({ cancel: false });
    expect((await act(work, "logs")).status).toBe(200);
    expect((await act(work, "release")).status).toBe(200);
  });

  it("a token limited to pipelines gets 404 naming one outside them, whatever the work", async () => {
    const work = await claimed("named-a", limited);
    expect((await act(work, "heartbeat", "named-b", limited)).status).toBe(404);
    expect((await act(work, "heartbeat", "named-a", limited)).body).toEqual({ cancel: false });
  });

  it("an outcome that names its pipeline is recorded; one naming another is refused", async () => {
    const work = await claimed("named-c");
    const report = (pipeline: string) =>
      t.call("PUT", "/work", {
        token: t.tokens.worker,
        body: [
          { id: work.id, pipeline, attempt: work.attempt, claim: work.claim, status: "success" },
        ],
      });
    const wrong = await report("named-other");
    expect(wrong.status).toBe(403);
    expect(JSON.stringify(wrong.body)).toContain("pipeline never changes");
    expect((await report("named-c")).status).toBe(200);
  });
});
