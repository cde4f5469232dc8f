import { STATUSES } from "@workflow/work";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../support/cli.js";
import { type Stack, startStack, TEST_SECRET } from "../support/stack.js";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  const client = stack.client();
  const work = (i: number) => ({
    pipeline: "many",
    site: "s",
    user: "alice",
    command: ["true"],
    event: [i],
    retries: 0, // a failure is final at once
  });
  await client.deposit(Array.from({ length: 150 }, (_, i) => work(i)));
  // One success with results, one failure with an error, one cancelled: each ran through the API.
  const [done, failed] = await stack
    .client({ workerId: "w1" })
    .withdraw({ pipeline: "many" }, { count: 2 });
  await stack.client({ workerId: "w1" }).update([
    { id: done?.id as string, attempt: 1, status: "success", results: { snr: 12.5, peaks: 3 } },
    {
      id: failed?.id as string,
      attempt: 1,
      status: "failure",
      results: { error: "fit.py: no such event 7" },
    },
  ]);
  const [queued] = await client.view({ pipeline: "many", status: "queued" }, { limit: 1 });
  await client.cancel(queued?.id as string);
});
afterAll(async () => {
  await stack.close();
});

const as = (token: string) => ({ env: { HOME: "/nonexistent", WORKFLOW_TOKEN: token } });
const reader = () => as(stack.token("alice", ["work:read"]));
const workflow = (args: string[], options = reader()) =>
  runWorkflow(["--url", stack.url, ...args], options);

describe("workflow ps", () => {
  it("says when the list is cut, and --all shows every work", async () => {
    const cut = await workflow(["ps", "many"]);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout.trim().split("\n")).toHaveLength(101); // header and 100 works
    expect(cut.stderr).toContain("100 of 150 shown; --limit or --all");
    const all = await workflow(["ps", "many", "--all"]);
    expect(all.stdout.trim().split("\n")).toHaveLength(151);
    expect(all.stderr).not.toContain("shown");
    const few = await workflow(["ps", "many", "--limit", "5", "--json"]);
    expect(JSON.parse(few.stdout)).toHaveLength(5);
    expect(few.stderr).toContain("5 of 150 shown");
  });

  it("shows the result or the error, and how long the attempt took", async () => {
    const success = await workflow(["ps", "many", "--status", "success"]);
    expect(success.stdout).toMatch(/DURATION\s+RESULT/);
    expect(success.stdout).toMatch(/ success\s+1\s+.*\s\d+\.\ds\s+\{"snr":12\.5,"peaks":3\}$/m);
    const failure = await workflow(["ps", "many", "--status", "failure"]);
    expect(failure.stdout).toMatch(/ \d+\.\ds\s+error: fit\.py: no such event 7$/m);
  });

  it("a pipeline that does not exist is an error that lists the known ones", async () => {
    await stack
      .client()
      .deposit([{ pipeline: "other", site: "s", user: "alice", command: ["true"] }]);
    const ran = await workflow(["ps", "mnay"]);
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe("");
    expect(ran.stderr.trim()).toBe('workflow: no pipeline "mnay"; known pipelines: many, other');
  });
});

describe("workflow ls", () => {
  it("has a column for every status, cancelled and created included", async () => {
    const ran = await workflow(["ls"]);
    expect(ran.code, ran.stderr).toBe(0);
    const [header, ...rows] = ran.stdout.trim().split("\n");
    expect(header?.split(/\s+/)).toEqual([
      "PIPELINE",
      "TOTAL",
      ...STATUSES.map((s) => s.toUpperCase()),
    ]);
    const many = rows.find((row) => row.startsWith("many "))?.split(/\s+/);
    const count = (status: string) =>
      many?.[2 + STATUSES.indexOf(status as (typeof STATUSES)[number])];
    expect(many?.[1]).toBe("150");
    expect(count("success")).toBe("1");
    expect(count("failure")).toBe("1");
    expect(count("cancelled")).toBe("1");
    expect(count("created")).toBe("0");
  });
});

describe("workflow show", () => {
  it("prints one work in full; an unknown id is one line", async () => {
    const [work] = await stack.client().view({ pipeline: "many", status: "success" });
    const shown = await workflow(["show", work?.id as string]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^status: success$/m);
    expect(shown.stdout).toMatch(/^ {2}snr: 12\.5$/m);
    expect(shown.stdout).toMatch(/^duration: \d+\.\ds$/m);
    const missing = await workflow(["show", "0123456789abcdef01234567"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split("\n")).toHaveLength(1);
    expect(missing.stderr).toMatch(/^workflow: .*no work .*0123456789abcdef01234567/);
  });
});

describe("a token the service refuses", () => {
  const forged = jwt.sign(
    { sub: "alice", scopes: ["work:read"] },
    "another-secret-0123456789abcdef",
  );
  const expired = jwt.sign(
    { sub: "alice", scopes: ["work:read"], exp: Math.floor(Date.now() / 1000) - 60 },
    TEST_SECRET,
  );
  it.each([
    ["malformed", "not-a-token"],
    ["signed with another key", forged],
    ["expired", expired],
  ])("%s: every command prints one line and exits 1", async (_, token) => {
    for (const args of [["ls"], ["ps", "many"], ["show", "0123456789abcdef01234567"]]) {
      const ran = await workflow(args, as(token));
      expect(ran.code).toBe(1);
      expect(ran.stdout).toBe("");
      const lines = ran.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^workflow: the service refused the token \(.+\): ask an operator for a new one \(buckets token\) and set WORKFLOW_TOKEN$/,
      );
    }
    const deposit = await runWorkflow(
      ["--url", stack.url, "deposit", "--pipeline", "p", "--site", "s", "--", "true"],
      as(token),
    );
    expect(deposit.code).toBe(1);
    expect(deposit.stderr.trim().split("\n")).toHaveLength(1);
  });
});
