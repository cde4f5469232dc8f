import { expect, it } from "vitest";
import { useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
};

it("a long-poll whose caller hangs up stops waiting; one answered in time leaves no waiter", async () => {
  const hangUp = new AbortController();
  const request = fetch(`${t.url}/work/withdraw?wait=30`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.tokens.worker}`, "content-type": "application/json" },
    body: JSON.stringify({ pipeline: "hangup" }),
    signal: hangUp.signal,
  }).catch((error: unknown) => error);
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
