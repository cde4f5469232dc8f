import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../support/cli.js";
import { type Stack, startStack } from "../support/stack.js";

/** The CLI's rough edges found in the first week of real use (#27). */
let stack: Stack;
let runId: string;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  const client = stack.client();
  await client.deposit(
    Array.from({ length: 20 }, (_, i) => ({
      pipeline: "week",
      site: "s",
      user: "alice",
      command: ["true"],
      event: [i],
    })),
  );
  const run = await client.startRun({
    version: "2",
    name: "week-run",
    defaults: { user: "alice", site: "s" },
    pipeline: {
      steps: [{ name: "only", matrix: { n: [1, 2, 3] }, work: { command: ["true"] } }],
    },
  });
  runId = run.id;
});
afterAll(async () => {
  await stack.close();
});

const as = (token: string) => ({ env: { HOME: "/nonexistent", WORKFLOW_TOKEN: token } });
const reader = () => as(stack.token("alice", ["work:read"]));
const workflow = (args: string[], options = reader()) =>
  runWorkflow(["--url", stack.url, ...args], options);

describe("a reader that stops reading (`| head`)", () => {
  // The pipe is closed before the command prints: every write it makes meets EPIPE, as the
  // writes after `head` has its lines do (Linux writes to a pipe synchronously, so closing
  // after the first line would race the command's last write).
  for (const args of [["ls"], ["ps", "week", "--all"], ["pipeline", "ps", "RUN"]]) {
    it(`workflow ${args.join(" ")} exits 0 and says nothing`, async () => {
      const ran = await workflow(
        args.map((arg) => (arg === "RUN" ? runId : arg)),
        { ...reader(), onSpawn: (child: ChildProcess) => child.stdout?.destroy() },
      );
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(0);
    });
  }
});
