import { createLogger, startWorker } from "@workflow/worker";
import { expect, it } from "vitest";
import { eventually, useStack } from "../support/stack.js";

const { stack } = useStack(import.meta.filename);

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
