import { describe, expect, it } from "vitest";
import { eventually, useStack } from "../support/stack.js";

/**
 * Leases are opt-in. CHIME's worker never heartbeats: its claim must hold for the work's whole
 * timeout. This project's worker asks for a lease and heartbeats. The reaper really runs here
 * (every second), with a lease far shorter than the work.
 */

const { stack } = useStack(import.meta.filename, {
  BUCKETS_LEASE_SECONDS: "2",
  BUCKETS_REAP_SECONDS: "1",
});

async function depositOne(pipeline: string): Promise<string> {
  const [id] = await stack
    .client()
    .deposit([{ pipeline, site: "s", user: "admin", command: ["true"], timeout: 20 }], {
      returnIds: true,
    });
  return id as string;
}

describe("leases are opt-in", () => {
  it("a withdraw without ?lease still holds its work once a 2 s lease taken after it has lapsed and been reaped", {
    timeout: 30_000,
  }, async () => {
    const id = await depositOne("hold-chime");
    const later = await depositOne("hold-later");
    const worker = stack.client({ scopes: ["work:withdraw", "work:read"] });
    const claimed = await worker.withdraw({ pipeline: "hold-chime" });
    expect(claimed?.id).toBe(id);
    expect((await worker.withdraw({ pipeline: "hold-later" }, { lease: 2 }))?.id).toBe(later);
    // The reaper has passed since a lease as long as the service's, taken after the claim, ended.
    await eventually(async () => {
      const [reaped] = await stack.client().view({ id: later });
      return reaped?.history?.some((h) => h.status === "expired") ? reaped : undefined;
    }, 15_000);
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
