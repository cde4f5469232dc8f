import { createLogger, startWorker } from "@workflow/worker";
import { afterAll, beforeAll, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});
afterAll(() => stack.close());

it("a worker runs a deposited command and reports success", async () => {
  const client = stack.client();
  const [id] = await client.deposit(
    [
      {
        pipeline: "smoke",
        site: "local",
        user: "admin",
        command: ["echo", "{{word}}"],
        parameters: { word: "hello; rm -rf /" },
      },
    ],
    { returnIds: true },
  );
  const worker = startWorker({
    pipelines: ["smoke"],
    client,
    lives: 1,
    wait: 2,
    logger: createLogger("silent"),
  });
  await worker.done;
  const work = await eventually(async () => {
    const [w] = await client.view({ id });
    return w?.status === "success" ? w : undefined;
  });
  expect(work.results).toMatchObject({ exitCode: 0, stdout: "hello; rm -rf /\n" });
  expect(work.history).toHaveLength(1);
});
