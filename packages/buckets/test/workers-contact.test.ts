import { describe, expect, it } from "vitest";
import { WORKER_ID_MAX } from "../src/routes/work.js";
import { CONTACT_PIPELINES_KEPT } from "../src/store/contacts.js";
import { aWork, useTestService } from "./support/service.js";

/**
 * GET /activity/workers from workers' contacts (#27.8): an idle worker that polls is there with
 * its last poll and what it serves; one that heartbeats says so; a token limited to pipelines
 * sees only the workers serving them.
 */

const { t } = useTestService(import.meta.filename);

interface Seen {
  worker: string;
  user?: string;
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

describe("a worker's contact belongs to its token's user", () => {
  it("never lets one user's token overwrite another user's worker of the same id", async () => {
    await poll("host-4/1/shared", "owned-by-worker-1");
    await t.call("POST", "/work/withdraw", {
      token: t.token("mallory", ["work:withdraw"]),
      body: { pipeline: "mallory-pipe" },
      headers: { "x-worker-id": "host-4/1/shared" },
    });
    const named = (await seen()).filter((w) => w.worker === "host-4/1/shared");
    const mine = named.find((w) => w.user === "worker-1");
    expect(mine?.pipelines).toEqual(["owned-by-worker-1"]);
    expect(named.find((w) => w.user === "mallory")?.pipelines).toEqual(["mallory-pipe"]);
  });

  it("keeps only the most recent pipelines a worker named, not every one", async () => {
    const names = Array.from({ length: CONTACT_PIPELINES_KEPT + 5 }, (_, i) => `fresh-${i}`);
    // One poll naming them all, then one naming the first again: it moves to the most recent.
    await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: { $in: names } },
      headers: { "x-worker-id": "host-5/1/greedy" },
    });
    const greedy = (await seen()).find((w) => w.worker === "host-5/1/greedy");
    expect(greedy?.pipelines).toEqual(names.slice(-CONTACT_PIPELINES_KEPT));
  });

  it("truncates an absurd worker id instead of storing it whole", async () => {
    const long = `host-6/${"x".repeat(5000)}`;
    expect((await poll(long, "long-id")).status).toBe(200);
    const named = (await seen()).map((w) => w.worker);
    expect(named).toContain(long.slice(0, WORKER_ID_MAX));
  });

  it("names a worker that sends no id, as CHIME's Python client does, by its user", async () => {
    await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline: "chime" } });
    const chime = (await seen()).find((w) => w.pipelines.includes("chime"));
    expect(chime).toMatchObject({ user: "worker-1", contact: "poll" });
    expect(chime?.worker).toMatch(/^worker-1@/);
  });
});
