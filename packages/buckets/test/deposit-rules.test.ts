import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestService, type TestService } from "./support/service.js";

let t: TestService;
beforeAll(async () => {
  t = await startTestService(import.meta.filename);
});
afterAll(() => t?.close());

const bare = { pipeline: "nothing", site: "s", user: "alice" };

describe("a deposit", () => {
  it("refuses a work with nothing to run, naming the flag that says workers supply it", async () => {
    const refused = await t.call("POST", "/work", { token: t.tokens.alice, body: [bare] });
    expect(refused.status).toBe(400);
    const message = (refused.body as { error: { message: string } }).error.message;
    expect(message).toMatch(/works\[0\] names neither a function nor a command/);
    expect(message).toContain("?static=true");
    expect(message).toContain("--static");
    const count = await t.call("POST", "/view/count", { body: { query: { pipeline: "nothing" } } });
    expect(count.body).toBe(0);

    const taken = await t.call("POST", "/work?static=true", {
      token: t.tokens.alice,
      body: [bare],
    });
    expect(taken).toMatchObject({ status: 200, body: true });
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
