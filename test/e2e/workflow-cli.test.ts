import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ran, runWorkflow } from "../support/cli.js";
import { ROOT } from "../support/processes.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

let stack: Stack;
const home = useTempDir("cli-home-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});
afterAll(async () => {
  await stack.close();
});

/** Runs the real `workflow` binary, with this test's HOME, a token, and standard input if given. */
function workflow(
  args: string[],
  { input, token = stack.token("alice", ["work:deposit", "work:read"]), url = true } = {} as {
    input?: string;
    token?: string | null;
    url?: boolean;
  },
): Promise<Ran> {
  const env: Record<string, string> = { HOME: home };
  if (token) env.WORKFLOW_TOKEN = token;
  return runWorkflow([...args, ...(url ? ["--url", stack.url] : [])], {
    env,
    ...(input === undefined ? {} : { input }),
  });
}
const admin = () => stack.token("admin", ["admin"]);

describe("workflow deposit", () => {
  it("deposits 5,000 works from a JSONL file, prints their ids, and ls shows them", {
    timeout: 120_000,
  }, async () => {
    const file = join(home, "works.jsonl");
    writeFileSync(
      file,
      Array.from({ length: 5_000 }, (_, i) =>
        JSON.stringify({ pipeline: "bulk", site: "s", command: ["true"], event: [i] }),
      ).join("\n"),
    );
    const deposited = await workflow(["deposit", "--file", file]);
    expect(deposited.code, deposited.stderr).toBe(0);
    const ids = deposited.stdout.trim().split("\n");
    expect(ids).toHaveLength(5_000);
    expect(ids.every((id) => /^[0-9a-f]{24}$/.test(id))).toBe(true);

    const table = await workflow(["ls"]);
    expect(table.stdout).toMatch(
      /PIPELINE\s+TOTAL\s+CREATED\s+WAITING\s+QUEUED\s+RUNNING\s+SUCCESS\s+FAILURE\s+SKIPPED\s+CANCELLED/,
    );
    expect(table.stdout).toMatch(/bulk\s+5000\s+0\s+0\s+5000\s+0\s+0\s+0\s+0\s+0/);
    const json = JSON.parse((await workflow(["ls", "--json"])).stdout) as {
      pipeline: string;
      total: number;
      queued: number;
    }[];
    expect(json.find((p) => p.pipeline === "bulk")).toMatchObject({ total: 5000, queued: 5000 });
  });

  it("deposits JSON lines and YAML from standard input", async () => {
    const lines = await workflow(["deposit", "-f", "-"], {
      input:
        '{"pipeline":"stdin","site":"s","command":["true"]}\n{"pipeline":"stdin","site":"s","command":["true"]}\n',
    });
    expect(lines.stdout.trim().split("\n")).toHaveLength(2);
    const yaml = await workflow(["deposit", "-f", "-", "--json"], {
      input: "- pipeline: stdin\n  site: s\n  command: [echo, hi]\n",
    });
    expect(JSON.parse(yaml.stdout)).toHaveLength(1);
  });

  it("deposits from flags, values given as JSON where they parse", async () => {
    const ran = await workflow(
      [
        "deposit",
        "--pipeline",
        "flags",
        "--site",
        "s",
        "--param",
        "k=v",
        "--param",
        "n=3",
        "--priority",
        "5",
        "--tag",
        "a",
        "--event",
        "7",
        "--slack-channel",
        "C1",
        "--url",
        stack.url,
        "--",
        "echo",
        "hi",
      ],
      { url: false },
    );
    expect(ran.code, ran.stderr).toBe(0);
    const [work] = await stack.client().view({ id: ran.stdout.trim() });
    expect(work).toMatchObject({
      pipeline: "flags",
      user: "alice",
      command: ["echo", "hi"],
      parameters: { k: "v", n: 3 },
      priority: 5,
      tags: ["a"],
      event: [7],
      notify: { slack: { channel_id: "C1" } },
    });
  });
});

describe("workflow ps, rm, cancel, audit, token", () => {
  beforeAll(async () => {
    const client = stack.client();
    await client.deposit([
      ...Array.from({ length: 3 }, () => ({
        pipeline: "listed",
        site: "s",
        user: "alice",
        command: ["true"],
        tags: ["red"],
      })),
      ...Array.from({ length: 2 }, () => ({
        pipeline: "listed",
        site: "s",
        user: "alice",
        command: ["true"],
        tags: ["blue"],
      })),
    ]);
    await client.withdraw({ pipeline: "listed", tags: { $in: ["blue"] } });
  });

  it("ps filters by status and tag, limits, and prints JSON", async () => {
    const running = await workflow(["ps", "listed", "--status", "running"]);
    expect(running.stdout.trim().split("\n")).toHaveLength(2); // header and one work
    const red = JSON.parse((await workflow(["ps", "listed", "--tag", "red", "--json"])).stdout) as {
      tags: string[];
    }[];
    expect(red).toHaveLength(3);
    expect(red.every((w) => w.tags.includes("red"))).toBe(true);
    expect(
      JSON.parse((await workflow(["ps", "listed", "--limit", "2", "--json"])).stdout),
    ).toHaveLength(2);
  });

  it("rm asks first: 'n' deletes nothing, 'y' deletes, --yes does not ask", async () => {
    const no = await workflow(["rm", "--pipeline", "listed", "--tag", "red"], { input: "n\n" });
    expect(no.stderr + no.stdout).toContain("delete 3 works?");
    expect(no.stdout).toContain("nothing deleted");
    expect(await stack.client().count({ pipeline: "listed", tags: "red" })).toBe(3);
    const yes = await workflow(["rm", "--pipeline", "listed", "--tag", "red"], { input: "y\n" });
    expect(yes.stdout).toContain("deleted 3 works");
    await stack
      .client()
      .deposit([
        { pipeline: "listed", site: "s", user: "alice", command: ["true"], tags: ["green"] },
      ]);
    const forced = await workflow(["rm", "--pipeline", "listed", "--tag", "green", "--yes"]);
    expect(forced.stdout).toContain("deleted 1 works");
    expect(forced.stderr).not.toContain("delete 1 works?");
  });

  it("rm without a filter refuses with exit 2 and deletes nothing", async () => {
    const before = await stack.client().count({});
    const ran = await workflow(["rm", "--yes"]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(/refusing to delete every work/);
    expect(await stack.client().count({})).toBe(before);
  });

  it("cancel and audit", async () => {
    const [id] = await stack
      .client()
      .deposit([{ pipeline: "cancelled", site: "s", user: "alice", command: ["true"] }], {
        returnIds: true,
      });
    const cancelled = await workflow(["cancel", id as string]);
    expect(cancelled.stdout).toContain(`cancelled ${id}`);
    expect((await stack.client().view({ id }))[0]?.status).toBe("cancelled");
    const audit = await workflow(["audit", "--json"], { token: admin() });
    expect(JSON.parse(audit.stdout)).toEqual({
      failed: 0,
      expired: 0,
      stale: expect.any(Number),
    });
    const table = await workflow(["audit"], { token: admin() });
    expect(table.stdout).toMatch(/^AUDIT\s+WORKS\nfailed\s+0\nexpired\s+0\nstale\s+\d+\n$/);
  });

  it("token mints a token with the service's key", async () => {
    const ran = await workflow(["token", "--user", "bob", "--scope", "work:read"], {
      token: admin(),
    });
    expect(ran.code, ran.stderr).toBe(0);
    const minted = ran.stdout.trim();
    expect(
      (await fetch(`${stack.url}/status`, { headers: { authorization: `Bearer ${minted}` } }))
        .status,
    ).toBe(200);
    const deposit = await fetch(`${stack.url}/work`, {
      method: "POST",
      headers: { authorization: `Bearer ${minted}`, "content-type": "application/json" },
      body: "[]",
    });
    expect(deposit.status).toBe(403);
  });
});

describe("workflow workspace", () => {
  it("show prints a workspace, set installs one, a missing one is one clear line", async () => {
    const example = join(ROOT, "workspace.example.yml");
    const shown = await workflow(["workspace", "show", "--workspace", example], { url: false });
    expect(shown.stdout).toContain("sites:");
    const set = await workflow(["workspace", "set", example], { url: false });
    expect(set.code).toBe(0);
    expect(existsSync(join(home, ".config/workflow/workspace.yml"))).toBe(true);
    const missing = await workflow(["workspace", "show", "--workspace", "/nowhere.yml"], {
      url: false,
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toBe(
      "workflow: workspace /nowhere.yml: not found: create it (see workspace.example.yml) or point WORKFLOW_WORKSPACE at one",
    );
  });
});

describe("errors and help", () => {
  it.each([
    [["deposit", "--bogus"], /unknown option '--bogus'/],
    [["ps"], /missing required argument 'pipeline'/],
    [["deposit", "--pipeline", "p", "--priority", "x"], /--priority/],
  ])("bad flags %j exit 2 with a usage line", async (args, message) => {
    const ran = await workflow(args);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toMatch(message);
    expect(ran.stderr).toMatch(/--help/);
  });

  it("an unreachable service exits 1 with one clear line and no stack trace", async () => {
    const ran = await workflow(["ls", "--url", "http://127.0.0.1:1"], { url: false });
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/^workflow: cannot reach the buckets service/);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
  });

  it("no token exits 1 and says how to give one", async () => {
    const ran = await workflow(["ls"], { token: null });
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim()).toBe("workflow: no token: set WORKFLOW_TOKEN or pass --token");
  });

  it.each([
    "deposit",
    "ls",
    "ps",
    "show",
    "rm",
    "cancel",
    "retry",
    "expire",
    "audit",
    "workspace set",
    "token",
    "run",
    "results ls",
    "results view",
    "results count",
    "results transfer",
  ])("%s --help shows an example", async (command) => {
    const ran = await workflow([...command.split(" "), "--help"], { url: false });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toMatch(/Example/);
  });
});
