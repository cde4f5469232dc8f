import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { interruptWhen, runWorkflow } from "../support/cli.js";
import { freePort } from "../support/processes.js";
import { startCuttingProxy } from "../support/proxy.js";
import { type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

let stack: Stack;
const home = useTempDir("cli-deposit-");
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
});
afterAll(async () => {
  await stack.close();
});

const env = () => ({
  HOME: home,
  XDG_STATE_HOME: join(home, "state"),
  WORKFLOW_TOKEN: stack.token("alice", ["work:deposit", "work:read"]),
});
const deposit = (args: string[], url = stack.url) =>
  runWorkflow(["--url", url, "deposit", ...args], { env: env() });

/** A JSON-lines file of `n` works of `pipeline`. */
function worksFile(name: string, pipeline: string, n: number): string {
  const path = join(home, name);
  writeFileSync(
    path,
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({ pipeline, site: "s", command: ["echo", String(i)] }),
    ).join("\n"),
  );
  return path;
}

describe("workflow deposit: the command after --", () => {
  it("keeps every word after -- as the command's argv, dashes included", async () => {
    const ran = await deposit([
      "--pipeline",
      "dashes",
      "--site",
      "s",
      "--event",
      "7",
      "--",
      "python",
      "fit.py",
      "--event",
      "1",
      "-c",
      "--param=x",
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    const [work] = await stack.client().view({ id: ran.stdout.trim() });
    expect(work).toMatchObject({
      command: ["python", "fit.py", "--event", "1", "-c", "--param=x"],
      event: [7],
    });
  });

  it("--command is one shell line", async () => {
    const ran = await deposit([
      "--pipeline",
      "dashes",
      "--site",
      "s",
      "--command",
      "python fit.py --event 1 > fit.log",
    ]);
    expect(ran.code, ran.stderr).toBe(0);
    const [work] = await stack.client().view({ id: ran.stdout.trim() });
    expect(work?.command).toEqual(["python fit.py --event 1 > fit.log"]);
  });

  it.each([
    [["--command", "python", "fit.py"], "--command takes one string: quote it"],
    [["python", "fit.py"], 'unexpected "python": put the command after --'],
    [["--command", "a", "--", "b"], "give the command once"],
  ])("%j is a usage error that says how to write it, and stores nothing", async (args, message) => {
    const before = await stack.client().count({ pipeline: "refused" });
    const ran = await deposit(["--pipeline", "refused", "--site", "s", ...args]);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(message);
    expect(await stack.client().count({ pipeline: "refused" })).toBe(before);
  });
});

describe("workflow deposit: batches, Ctrl-C, repeats, outages", () => {
  it("Ctrl-C while checking says how far it got and that nothing was deposited", {
    timeout: 120_000,
  }, async () => {
    const file = worksFile("checking.jsonl", "checking", 60_000);
    const ran = await runWorkflow(["--url", stack.url, "deposit", "--file", file], {
      env: env(),
      onSpawn: interruptWhen(/checking 60000 works/),
    });
    expect(ran.code, ran.stderr).toBe(130);
    expect(ran.stderr).toMatch(
      /interrupted while checking: \d+ of 60000 works checked, none deposited .*run the same command again/,
    );
    expect(ran.stdout).toBe("");
    expect(await stack.client().count({ pipeline: "checking" })).toBe(0);
  });

  it("prints each batch's ids as it is stored; Ctrl-C says how many and where their ids are", {
    timeout: 120_000,
  }, async () => {
    const file = worksFile("interrupted.jsonl", "interrupted", 20_000);
    const ran = await runWorkflow(["--url", stack.url, "deposit", "--file", file], {
      env: env(),
      // After the first batch, while more are to come: the ids are out already.
      onSpawn: interruptWhen(/stored 1000\/20000/),
    });
    expect(ran.code).toBe(130);
    const printed = ran.stdout.trim().split("\n");
    expect(printed.length).toBeGreaterThanOrEqual(1_000);
    expect(printed.length).toBeLessThan(20_000);
    const summary = /interrupted: (\d+) of 20000 works stored.*their ids are in (\S+)/.exec(
      ran.stderr,
    );
    expect(summary, ran.stderr).not.toBeNull();
    expect(Number(summary?.[1])).toBe(printed.length);
    expect(
      readFileSync(summary?.[2] as string, "utf8")
        .trim()
        .split("\n"),
    ).toEqual(printed);
    expect(ran.stderr).toContain("deposit the same file again to store the rest");
    // Every id printed is stored.
    const stored = await stack.client().count({ id: { $in: printed } });
    expect(stored).toBe(printed.length);

    // The same file again stores the rest and nothing twice.
    const rest = await deposit(["--file", file]);
    expect(rest.code, rest.stderr).toBe(0);
    expect(rest.stdout.trim().split("\n").slice(0, printed.length)).toEqual(printed);
    expect(await stack.client().count({ pipeline: "interrupted" })).toBe(20_000);
    expect(rest.stderr).toMatch(/\d+ of 20000 works were stored already; the rest are new/);
  });

  it("a file deposited twice stores its works once; --again stores them anew", {
    timeout: 60_000,
  }, async () => {
    const file = worksFile("twice.jsonl", "twice", 3);
    writeFileSync(file, `${readFileSync(file, "utf8")}\n${readFileSync(file, "utf8")}`); // 6 lines, 2 of each
    const first = await deposit(["--file", file]);
    const second = await deposit(["--file", file]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(new Set(first.stdout.trim().split("\n")).size).toBe(6); // equal lines are two works
    expect(second.stderr).toContain("all 6 works were stored already: nothing new to store");
    expect(await stack.client().count({ pipeline: "twice" })).toBe(6);
    const again = await deposit(["--file", file, "--again"]);
    expect(again.code, again.stderr).toBe(0);
    expect(await stack.client().count({ pipeline: "twice" })).toBe(12);
  });

  it("an unreachable service is one clear line and exit 1, before anything is sent", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const ran = await deposit(["--pipeline", "p", "--site", "s", "--", "true"], url);
    expect(ran.code).toBe(1);
    expect(ran.stderr.trim().split("\n")).toHaveLength(1);
    expect(ran.stderr).toMatch(
      /^workflow: cannot reach the buckets service .*ECONNREFUSED.*is it running/,
    );
  });

  it("a service that answers 503 for a while: says it is retrying, then stores everything once", {
    timeout: 60_000,
  }, async () => {
    // In front of the service: the first two deposits get 503 with Retry-After, then all passes.
    let refused = 0;
    const proxy = await startCuttingProxy(stack.url);
    proxy.refusal = { message: "MongoDB is not answering", retryAfter: 1 };
    proxy.cut = (req) =>
      req.method === "POST" && (req.url?.startsWith("/work") ?? false) && refused++ < 2;
    try {
      const url = proxy.url;
      const ran = await deposit(["--file", worksFile("outage.jsonl", "outage", 5)], url);
      expect(ran.code, ran.stderr).toBe(0);
      expect(ran.stderr).toMatch(/POST \/work: 503 MongoDB is not answering; retrying in 1 s/);
      expect(ran.stderr).toContain("the service answers again");
      expect(ran.stdout.trim().split("\n")).toHaveLength(5);
      expect(await stack.client().count({ pipeline: "outage" })).toBe(5);
    } finally {
      await proxy.close();
    }
  });
});

describe("workflow deposit: works with nothing to run", () => {
  it("is refused with the flag to name, and taken with --static", async () => {
    const refused = await deposit(["--pipeline", "static", "--site", "s"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/names neither a function nor a command/);
    expect(refused.stderr).toContain("--static");
    expect(await stack.client().count({ pipeline: "static" })).toBe(0);

    const taken = await deposit(["--pipeline", "static", "--site", "s", "--static"]);
    expect(taken.code, taken.stderr).toBe(0);
    expect(await stack.client().count({ pipeline: "static" })).toBe(1);
  });
});
