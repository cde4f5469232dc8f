import { describe, expect, it } from "vitest";
import { aWork, useTestService } from "./support/service.js";

/**
 * GET /activity/workers from workers' contacts (#27.8): an idle worker that polls is there with
 * its last poll and what it serves; one that heartbeats says so; a token limited to pipelines
 * sees only the workers serving them.
 */

const { t } = useTestService(import.meta.filename);

interface Seen {
  worker: string;
  running: number;
  lastContact?: number;
  contact?: string;
  pipelines: string[];
}
const seen = async (token = t.tokens.admin) =>
  (await t.call("GET", "/activity/workers", { token })).body as Seen[];
const poll = (worker: string, pipeline: string) =>
  t.call("POST", "/work/withdraw", {
    token: t.tokens.worker,
    body: { pipeline },
    headers: { "x-worker-id": worker },
  });

describe("workers seen recently", () => {
  it("names an idle worker by its last poll, with the pipelines it asked for", async () => {
    const before = Date.now() / 1000 - 1;
    await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: { $in: ["idle-a", "idle-b"] } },
      headers: { "x-worker-id": "host-1/42/idle" },
    });
    const idle = (await seen()).find((w) => w.worker === "host-1/42/idle");
    expect(idle).toMatchObject({ running: 0, contact: "poll", pipelines: ["idle-a", "idle-b"] });
    expect(idle?.lastContact).toBeGreaterThan(before);
  });

  it("says a worker's last contact was a heartbeat while it runs a work", async () => {
    await t.call("POST", "/work", { token: t.tokens.alice, body: [aWork({ pipeline: "beats" })] });
    const claimed = (await poll("host-2/7/busy", "beats")).body as { id: string; attempt: number };
    const beat = await t.call("POST", `/work/${claimed.id}/heartbeat?attempt=1`, {
      token: t.tokens.worker,
      headers: { "x-worker-id": "host-2/7/busy" },
    });
    expect(beat.status).toBe(200);
    const busy = (await seen()).find((w) => w.worker === "host-2/7/busy");
    expect(busy).toMatchObject({ running: 1, contact: "heartbeat", pipelines: ["beats"] });
  });

  it("shows a token limited to pipelines only the workers serving them", async () => {
    await poll("host-3/1/mine", "limited-mine");
    await poll("host-3/2/theirs", "limited-theirs");
    const names = (await seen(t.token("rita", ["work:read"], ["limited-mine"]))).map(
      (w) => w.worker,
    );
    expect(names).toContain("host-3/1/mine");
    expect(names).not.toContain("host-3/2/theirs");
  });
});
