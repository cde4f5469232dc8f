import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, type Stack, startStack } from "../support/stack.js";

/**
 * Leases are opt-in. CHIME's worker never heartbeats: its claim must hold for the work's whole
 * timeout. This project's worker asks for a lease and heartbeats. The reaper really runs here
 * (every second), with a lease far shorter than the work.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(import.meta.filename, {
    BUCKETS_LEASE_SECONDS: "2",
    BUCKETS_REAP_SECONDS: "1",
  });
});
afterAll(() => stack.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function depositOne(pipeline: string): Promise<string> {
  const [id] = await stack
    .client()
    .deposit([{ pipeline, site: "s", user: "admin", command: ["true"], timeout: 20 }], {
      returnIds: true,
    });
  return id as string;
}

describe("leases are opt-in", () => {
  it("a withdraw without ?lease still holds its work after 8 s, though leases last 2 s", {
    timeout: 30_000,
  }, async () => {
    const id = await depositOne("hold-chime");
    const worker = stack.client({ scopes: ["work:withdraw", "work:read"] });
    const claimed = await worker.withdraw({ pipeline: "hold-chime" });
    expect(claimed?.id).toBe(id);
    await sleep(8_000);
    const [now] = await stack.client().view({ id });
    expect(now).toMatchObject({ status: "running", attempt: 1 });
    expect(await worker.withdraw({ pipeline: "hold-chime" })).toBeNull();
    // And its outcome is still its own.
    await worker.update([{ id, attempt: 1, status: "success" }]);
    expect((await stack.client().view({ id }))[0]).toMatchObject({ status: "success" });
  });

  it("with ?lease=2 and no heartbeat, the work goes back to the queue after its lease", {
    timeout: 30_000,
  }, async () => {
    const id = await depositOne("hold-leased");
    const worker = stack.client({ scopes: ["work:withdraw", "work:read"] });
    expect((await worker.withdraw({ pipeline: "hold-leased" }, { lease: 2 }))?.id).toBe(id);
    const again = await eventually(
      async () => (await worker.withdraw({ pipeline: "hold-leased" }, { lease: 2 })) ?? undefined,
      15_000,
      250,
    );
    expect(again).toMatchObject({ id, attempt: 2 });
    expect(again.history?.[0]).toMatchObject({ attempt: 1, status: "expired" });
  });
});
