import { BucketsClient } from "@workflow/work";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databaseName, uriFor } from "../support/db.js";
import {
  freePort,
  type Owned,
  serviceProcess,
  waitForHttp,
  workerProcess,
} from "../support/processes.js";
import { eventually, type Stack, startStack, TEST_SECRET } from "../support/stack.js";

// The in-process stack only mints tokens and reads results; the service under test is a process.
let stack: Stack;
let service: Owned | undefined;
const workers: Owned[] = [];
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await service?.stop();
  await stack.close();
});

it("kill the service under load and start it again: no acknowledged deposit is lost, workers recover", {
  timeout: 180_000,
}, async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env = {
    MONGODB_URI: uriFor(databaseName(import.meta.filename)),
    BUCKETS_JWT_SECRET: TEST_SECRET,
    BUCKETS_LEASE_SECONDS: "2",
    BUCKETS_REAP_SECONDS: "1",
  };
  service = serviceProcess(port, env);
  await waitForHttp(`${url}/readyz`);

  const workerToken = stack.token("restart-worker", ["work:withdraw"]);
  for (let n = 0; n < 2; n++) {
    workers.push(
      workerProcess(["restart", "--url", url, "--concurrency", "4", "--sleep", "0.2"], {
        WORKFLOW_TOKEN: workerToken,
      }),
    );
  }

  const acknowledged: string[] = [];
  let depositing = true;
  const depositor = async (n: number) => {
    const client = new BucketsClient({
      baseUrls: [url],
      token: stack.token("admin", ["admin"]),
      env: {},
      retry: { budgetMs: 60_000 },
    });
    for (let round = 0; depositing; round++) {
      const works = Array.from({ length: 20 }, (_, i) => ({
        pipeline: "restart",
        site: "s",
        user: "admin",
        command: ["true"],
        event: [n, round, i],
      }));
      acknowledged.push(...(await client.deposit(works, { returnIds: true })));
    }
  };
  const depositors = [0, 1, 2].map(depositor);

  await eventually(async () => (acknowledged.length >= 200 ? true : undefined));
  await service.stop("SIGKILL");
  const killedAt = acknowledged.length;
  // Down until a request to it fails: what the depositors sent meanwhile is theirs to retry.
  await eventually(async () =>
    fetch(`${url}/readyz`).then(
      () => undefined,
      () => true,
    ),
  );
  service = serviceProcess(port, env);
  await waitForHttp(`${url}/readyz`);
  await eventually(async () => (acknowledged.length >= killedAt + 200 ? true : undefined), 60_000);
  depositing = false;
  await Promise.all(depositors);

  const client = stack.client();
  const stored = new Set(
    (
      await client.view({ pipeline: "restart" }, { projection: { pipeline: 1 }, limit: 10_000 })
    ).map((w) => w.id),
  );
  expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
  expect(stored.size).toBe(new Set(acknowledged).size);
  // The workers were never restarted by hand: they finish everything.
  await eventually(
    async () =>
      (await client.count({ pipeline: "restart", status: "success" })) === stored.size
        ? true
        : undefined,
    90_000,
    500,
  );
  console.log(`restart: ${stored.size} works deposited across the restart, all done`);
});
