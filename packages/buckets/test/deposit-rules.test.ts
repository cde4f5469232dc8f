import { BucketsClient } from "@workflow/work";
import { describe, expect, it } from "vitest";
import { useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename);

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

describe("a command's placeholders", () => {
  it("inside a larger string are taken: CHIME's client sends {{...}} as plain text, and this project's worker checks before it runs", async () => {
    const answer = await t.call("POST", "/work?return_ids=True", {
      token: t.tokens.alice,
      body: [
        { ...bare, pipeline: "spliced", command: ["echo", "{{x}}"], parameters: { x: 1 } },
        { ...bare, pipeline: "spliced", command: ["python3", "-uc", "print({{x}})"] },
      ],
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const [, id] = answer.body as string[];
    const stored = await t.call("POST", "/view", { body: { query: { id } } });
    expect((stored.body as { command: string[] }[])[0]?.command).toEqual([
      "python3",
      "-uc",
      "print({{x}})",
    ]);
    // An owner's update that changes the command is taken the same way.
    const changed = await t.call("PUT", "/work", {
      token: t.tokens.alice,
      body: [{ id, command: ["sh", "-c", 'perl -le "print {{x}}"'] }],
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
  });

  it("in a pipeline config's work refuse the config", async () => {
    const config = {
      version: "2",
      name: "spliced-run",
      defaults: { user: "alice", site: "local" },
      pipeline: {
        steps: [{ name: "fit", stage: 1, work: { command: ["node", "-pe", "{{x}} + 1"] } }],
      },
    };
    const answer = await t.call("POST", "/configs", { token: t.tokens.alice, body: config });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain("work.command[2]");
  });
});
