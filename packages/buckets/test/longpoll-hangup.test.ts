import { expect, it } from "vitest";
import { claimWrites } from "../../../test/support/claim-writes.js";
import { useTestService } from "./support/service.js";
import { depositWork, viewWork } from "./support/works.js";

const writes = claimWrites();
const { t } = useTestService(import.meta.filename, {}, { hooks: { onCommand: writes.onCommand } });

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
};
const withdrawing = (pipeline: string, query: string, signal: AbortSignal) =>
  fetch(`${t.url}/work/withdraw${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.tokens.worker}`, "content-type": "application/json" },
    body: JSON.stringify({ pipeline }),
    signal,
  }).catch((error: unknown) => error);

type Stored = { status: string; uncounted?: number; history?: { status: string }[] };

it("a long-poll whose caller hangs up stops waiting; one answered in time leaves no waiter", async () => {
  const hangUp = new AbortController();
  const request = withdrawing("hangup", "?wait=30", hangUp.signal);
  await until(() => t.service.dispatcher.waiting === 1);
  hangUp.abort();
  await request;
  await until(() => t.service.dispatcher.waiting === 0);

  const answered = await t.call("POST", "/work/withdraw?wait=1", {
    token: t.tokens.worker,
    body: { pipeline: "hangup" },
  });
  expect(answered).toMatchObject({ status: 200, body: null });
  expect(t.service.dispatcher.waiting).toBe(0);
});

it.each([
  ["a claim", "gone-now", ""],
  ["a long-poll", "gone-waiting", "?wait=30"],
])(
  "%s whose caller hangs up while its work is claimed gives the work back at once, uncounted",
  async (_, pipeline, query) => {
    const hangUp = new AbortController();
    writes.arm(pipeline, () => hangUp.abort());
    let id: string;
    if (query) {
      const request = withdrawing(pipeline, query, hangUp.signal);
      await until(() => t.service.dispatcher.waiting === 1);
      id = await depositWork(t, { pipeline });
      await request;
    } else {
      id = await depositWork(t, { pipeline });
      await withdrawing(pipeline, query, hangUp.signal);
    }
    expect(hangUp.signal.aborted).toBe(true);
    // Not left running until its lease ends: back in the queue, its attempt not spent.
    const seen = async () => {
      const work = await viewWork<Stored>(t, id);
      const history = work.history?.map((entry) => entry.status);
      return { status: work.status, uncounted: work.uncounted, history };
    };
    await expect
      .poll(seen, { timeout: 5_000 })
      .toEqual({ status: "queued", uncounted: 1, history: ["released"] });
    const again = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline },
    });
    expect(again.body).toMatchObject({ id, status: "running" });
  },
);
