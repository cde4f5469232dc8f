import { describe, expect, it } from "vitest";
import { interruptWhen, runWorkflow } from "../support/cli.js";
import { useStack } from "../support/stack.js";

/**
 * `workflow rm`, `cancel` and `retry` on filters of any size (#27.1): the real CLI against the
 * real service, far past the 5,000 works one request used to take and the ~550 ids that fitted
 * in a URL.
 */
const { stack } = useStack(import.meta.filename);

const alice = () => ({
  env: {
    HOME: "/nonexistent",
    WORKFLOW_TOKEN: stack.token("alice", ["work:deposit", "work:read"]),
  },
});
const workflow = (args: string[], options: Parameters<typeof runWorkflow>[1] = alice()) =>
  runWorkflow(["--url", stack.url, ...args], options);

/** A POST /work takes at most 10,000 works: deposit in batches of 5,000. */
async function deposit(pipeline: string, n: number, user = "alice"): Promise<void> {
  for (let at = 0; at < n; at += 5_000) {
    await stack.client().deposit(
      Array.from({ length: Math.min(5_000, n - at) }, (_, i) => ({
        pipeline,
        site: "s",
        user,
        command: ["true"],
        parameters: { i: at + i },
      })),
    );
  }
}
const count = (query: Record<string, unknown>) => stack.client().count(query);

describe("workflow rm on 12,000 works", () => {
  it("deletes them all page by page, saying how far it got", async () => {
    await deposit("rm-all", 12_000);
    const ran = await workflow(["rm", "--pipeline", "rm-all", "--yes"]);
    expect(ran.stderr).not.toContain("431");
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toBe("deleted 12000 works\n");
    expect(ran.stderr).toContain("deleted 1000 of 12000 works so far");
    expect(ran.stderr).toContain("deleted 11000 of 12000 works so far");
    expect(await count({ pipeline: "rm-all" })).toBe(0);
  });

  it("stopped by Ctrl-C, says what it did; run again, it deletes the rest and says so", async () => {
    await deposit("rm-resume", 12_000);
    const interrupted = await workflow(["rm", "--pipeline", "rm-resume", "--yes"], {
      ...alice(),
      onSpawn: interruptWhen(/so far/),
    });
    expect(interrupted.code).toBe(130);
    const said = /interrupted: deleted (\d+) of 12000 works; run the same command again/.exec(
      interrupted.stderr,
    );
    expect(said, interrupted.stderr).not.toBeNull();
    const deleted = Number(said?.[1]);
    const left = await count({ pipeline: "rm-resume" });
    expect(left).toBeGreaterThan(0);
    expect(deleted).toBe(12_000 - left);
    const again = await workflow(["rm", "--pipeline", "rm-resume", "--yes"]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`deleted ${left} works\n`);
    expect(await count({ pipeline: "rm-resume" })).toBe(0);
  });

  it("deletes its own works and names the others' it passed, exiting 1", async () => {
    await deposit("rm-mixed", 1_500);
    await deposit("rm-mixed", 20, "bob");
    const ran = await workflow(["rm", "--pipeline", "rm-mixed", "--yes"]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe("deleted 1500 works\n");
    expect(ran.stderr).toMatch(/workflow: [0-9a-f]{24}: .*bob/);
    expect(await count({ pipeline: "rm-mixed" })).toBe(20);
  });
});

describe("workflow cancel and retry by filter", () => {
  it("cancels 2,500 queued works, then retries them all", async () => {
    await deposit("cr", 2_500);
    const cancelled = await workflow(["cancel", "--pipeline", "cr"]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toBe("cancelled 2500 works\n");
    expect(cancelled.stderr).toContain("cancelled 2000 of 2500 works so far");
    expect(await count({ pipeline: "cr", status: "cancelled" })).toBe(2_500);
    // Run again: nothing unfinished is left, and it says so rather than refusing 2,500.
    const again = await workflow(["cancel", "--pipeline", "cr"]);
    expect(again.stdout).toBe("no unfinished works match\n");
    const retried = await workflow(["retry", "--pipeline", "cr", "--status", "cancelled"]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toBe("retried 2500 of 2500 works\n");
    expect(await count({ pipeline: "cr", status: "queued" })).toBe(2_500);
  });
});
