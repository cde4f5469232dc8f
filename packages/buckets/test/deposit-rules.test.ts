import { BucketsClient } from "@workflow/work";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
});
afterAll(() => t?.close());

const bare = { pipeline: "nothing", site: "s", user: "alice" };

describe("a deposit", () => {
  it("takes a work that names neither a function nor a command, as CHIME's client sends it", async () => {
    // CHIME's workers run in static mode and supply what to run; its client never says so.
    const chime = { ...bare, function: null, command: null, parameters: null, results: null };
    const taken = await t.call("POST", "/work?return_ids=True&return_ids=True", {
      token: t.tokens.alice,
      body: [chime],
    });
    expect(taken.status).toBe(200);
    const [id] = taken.body as [string];
    const count = await t.call("POST", "/view/count", { body: { query: { pipeline: "nothing" } } });
    expect(count.body).toBe(1);
    const withdrawn = await t.call("POST", "/work/withdraw", {
      token: t.tokens.worker,
      body: { pipeline: "nothing" },
    });
    expect(withdrawn.body).toMatchObject({ id, status: "running" });
  });

  it("by this project's client refuses a work with nothing to run, unless static", async () => {
    const client = new BucketsClient({ baseUrls: t.url, token: t.tokens.alice });
    const work = { ...bare, pipeline: "nothing-client" };
    await expect(client.deposit([work])).rejects.toThrow(
      /works\[0\] names neither a function nor a command.*--static/,
    );
    expect(await client.count({ pipeline: "nothing-client" })).toBe(0);
    await client.deposit([work], { static: true });
    expect(await client.count({ pipeline: "nothing-client" })).toBe(1);
  });

  it("as another user is a 403 that names the token's user and the work's, the right way round", async () => {
    const answer = await t.call("POST", "/work", {
      token: t.tokens.alice,
      body: [{ ...bare, user: "bob", command: ["true"] }],
    });
    expect(answer.status).toBe(403);
    const message = (answer.body as { error: { message: string } }).error.message;
    expect(message).toContain('this token belongs to "alice"');
    expect(message).toContain('may deposit only as "alice", not as "bob"');
  });
});
