import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type LogLine, MAX_LOG_PAGE_LINES, type StoredWork } from "@workflow/work";
import { ObjectId } from "mongodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../support/cli.js";
import { testDb } from "../support/db.js";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";
import { finishedWorks } from "../support/works.js";

/** Live logs: real workers (processes) ship what works print; the service keeps it; the CLI reads it. */

let stack: Stack;
const dir = useTempDir("logs-");
const owned: Owned[] = [];

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  // A Node function and a Python function that print, and tell what of the worker's secrets they see.
  writeFileSync(
    join(dir, "talk.mjs"),
    [
      "export function talk() {",
      '  console.log("node says hi");',
      '  console.error("node warns");',
      "  const env = process.env;",
      "  return { seen: [env.WORKFLOW_TOKEN, env.WORKFLOW_HTTP_TOKEN, env.GITHUB_TOKEN, env.GITHUB_PAT, env.SLACK_BOT_TOKEN, env.WORKFLOW_NOTIFY_SLACK_TOKEN].filter(Boolean), plain: env.PLAIN ?? null };",
      "}",
    ].join("\n"),
  );
  mkdirSync(join(dir, "logsfix"));
  writeFileSync(join(dir, "logsfix", "__init__.py"), "");
  writeFileSync(
    join(dir, "logsfix", "talk.py"),
    [
      "import os, sys",
      "NAMES = ['WORKFLOW_TOKEN', 'WORKFLOW_HTTP_TOKEN', 'GITHUB_TOKEN', 'GITHUB_PAT', 'SLACK_BOT_TOKEN', 'WORKFLOW_NOTIFY_SLACK_TOKEN']",
      "def talk():",
      "    print('python says hi')",
      "    print('python warns', file=sys.stderr)",
      "    return {'seen': [os.environ[n] for n in NAMES if os.environ.get(n)], 'plain': os.environ.get('PLAIN')}",
    ].join("\n"),
  );
});

afterEach(async () => {
  await Promise.all(owned.splice(0).map((o) => o.stop("SIGKILL")));
});

afterAll(async () => {
  await stack?.close();
});

let serial = 0;
const pipelineName = () => `logs-${++serial}-${Math.random().toString(36).slice(2, 8)}`;

async function deposit(pipeline: string, work: Record<string, unknown>): Promise<string> {
  const ids = (await stack.client().deposit([{ pipeline, site: "local", user: "alice", ...work }], {
    returnIds: true,
  })) as string[];
  return ids[0] as string;
}

const view = async (id: string) =>
  (await stack.client().view({ id }, { limit: 1 }))[0] as StoredWork;
const logs = (id: string, attempt?: number) => stack.client().logs(id, attempt);
const texts = (lines: LogLine[]) => lines.map((line) => line.text);
const byStream = (lines: LogLine[]) => ({
  stdout: texts(lines.filter((line) => line.stream === "stdout")),
  stderr: texts(lines.filter((line) => line.stream === "stderr")),
});

/** A worker process for `pipeline`, with its token in WORKFLOW_TOKEN as in production. */
function worker(pipeline: string, extraEnv: Record<string, string> = {}, lives = 1): Owned {
  const process = workerProcess(
    [pipeline, "--url", stack.url, "--lives", String(lives), "--sleep", "0.1"],
    { WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]), ...extraEnv },
    dir,
  );
  owned.push(process);
  return process;
}

const finished = async (id: string) => (await finishedWorks(stack, [id]))[0] as StoredWork;

/**
 * A work that prints `out` to stdout and `err` to stderr, then waits for its stop file before it
 * prints `last`; a worker runs it, and it is answered once both lines have been shipped.
 */
async function printingUntilStopped(out: string, err: string, last: string) {
  const pipeline = pipelineName();
  const stop = join(dir, `${pipeline}.stop`);
  const id = await deposit(pipeline, {
    command: [
      "sh",
      "-c",
      `echo ${out}; echo ${err} >&2; while [ ! -e ${stop} ]; do sleep 0.1; done; echo ${last}`,
    ],
    timeout: 60,
  });
  worker(pipeline);
  const live = await eventually(async () => {
    const got = await logs(id);
    return got.lines.length >= 2 ? got : undefined;
  });
  return { id, pipeline, stop, live };
}

describe("live logs from a worker", () => {
  it("a command's stdout and stderr arrive while it runs, each line with its stream and time", {
    timeout: 60_000,
  }, async () => {
    const { id, stop, live } = await printingUntilStopped("first", "oops", "last");
    // Still running: the lines came before the command ended.
    expect((await view(id)).status).toBe("running");
    expect(live.lines).toEqual([
      expect.objectContaining({ stream: "stdout", text: "first" }),
      expect.objectContaining({ stream: "stderr", text: "oops" }),
    ]);
    expect(live.lines[0]?.t).toBeGreaterThan(Date.now() - 60_000);
    writeFileSync(stop, "");
    expect((await finished(id)).status).toBe("success");
    const all = await logs(id, 1);
    expect(texts(all.lines)).toEqual(["first", "oops", "last"]);
  });

  it("a Node function's console and a Python function's prints land in the attempt's logs, labelled by stream", {
    timeout: 60_000,
  }, async () => {
    const pipeline = pipelineName();
    const node = await deposit(pipeline, { function: "./talk.mjs#talk" });
    const python = await deposit(pipeline, { function: "logsfix.talk.talk" });
    const running = worker(pipeline, {}, 2);
    expect((await finished(node)).status).toBe("success");
    expect((await finished(python)).status).toBe("success");
    // Two pipes keep no order between them: each stream's lines are in order.
    expect(byStream((await logs(node)).lines)).toEqual({
      stdout: ["node says hi"],
      stderr: ["node warns"],
    });
    expect(byStream((await logs(python)).lines)).toEqual({
      stdout: ["python says hi"],
      stderr: ["python warns"],
    });
    // Not on the worker's own streams: those are the worker's log.
    await running.exited;
    expect(running.output()).not.toContain("says hi");
  });

  it("no child the worker starts can see its token or other secrets; other variables pass", {
    timeout: 60_000,
  }, async () => {
    const pipeline = pipelineName();
    const secrets = {
      WORKFLOW_HTTP_TOKEN: "",
      GITHUB_TOKEN: "gh-secret-1",
      GITHUB_PAT: "gh-secret-2",
      SLACK_BOT_TOKEN: "xoxb-secret-3",
      WORKFLOW_NOTIFY_SLACK_TOKEN: "xoxb-secret-4",
      PLAIN: "visible",
    };
    const command = await deposit(pipeline, {
      command: [
        "sh",
        "-c",
        'echo "[$WORKFLOW_TOKEN$WORKFLOW_HTTP_TOKEN$GITHUB_TOKEN$GITHUB_PAT$SLACK_BOT_TOKEN$WORKFLOW_NOTIFY_SLACK_TOKEN]$PLAIN"',
      ],
    });
    const node = await deposit(pipeline, { function: "./talk.mjs#talk" });
    const python = await deposit(pipeline, { function: "logsfix.talk.talk" });
    worker(pipeline, secrets, 3);
    const ran = await finished(command);
    expect(ran.status).toBe("success");
    expect(ran.results?.stdout).toBe("[]visible\n");
    for (const id of [node, python]) {
      const work = await finished(id);
      expect(work.status).toBe("success");
      expect(work.results).toEqual({ seen: [], plain: "visible" });
    }
  });

  it("a worker killed with -9 loses at most its last batch of output", {
    timeout: 60_000,
  }, async () => {
    const pipeline = pipelineName();
    const printed = join(dir, `${pipeline}.printed`);
    const id = await deposit(pipeline, {
      command: [
        "sh",
        "-c",
        `i=0; while true; do i=$((i+1)); echo "line $i" >> ${printed}; echo "line $i"; sleep 0.1; done`,
      ],
      timeout: 120,
    });
    const doomed = worker(pipeline);
    await eventually(async () => ((await logs(id)).lines.length >= 20 ? true : undefined));
    const before = readFileSync(printed, "utf8").trim().split("\n").length;
    await doomed.stop("SIGKILL");
    const kept = (await logs(id)).lines;
    const last = Number(kept.at(-1)?.text.split(" ")[1]);
    // Lines in order, none missing up to the last one stored.
    expect(texts(kept)).toEqual(Array.from({ length: last }, (_, i) => `line ${i + 1}`));
    // About ten lines a second, one batch a second: what was printed before the kill is stored
    // but for at most the batch being gathered (and one being sent).
    expect(before - last).toBeLessThanOrEqual(25);
  });
});

describe("workflow logs and workflow show", () => {
  it("logs prints an attempt's lines; --follow prints them as they come and ends with the attempt; show has history, archive errors and last lines", {
    timeout: 90_000,
  }, async () => {
    const { id, stop } = await printingUntilStopped("one", "two", "three");
    const env = { WORKFLOW_TOKEN: stack.token("alice", ["work:deposit", "work:read"]) };

    let followed = "";
    const following = runWorkflow(["--url", stack.url, "logs", id, "--follow"], {
      env,
      onSpawn: (child) =>
        child.stdout?.on("data", (chunk: Buffer) => {
          followed += chunk;
        }),
    });
    await eventually(async () => (followed.includes("[stderr] two") ? true : undefined));
    expect(followed).toBe("one\n[stderr] two\n");
    writeFileSync(stop, "");
    const ended = await following;
    expect(ended.code).toBe(0);
    expect(ended.stdout).toBe("one\n[stderr] two\nthree\n");
    expect(ended.stderr).toContain("attempt 1 ended");

    const printed = await runWorkflow(["--url", stack.url, "logs", id, "--attempt", "1"], { env });
    expect(printed).toMatchObject({ code: 0, stdout: "one\n[stderr] two\nthree\n" });

    // As a worker records a failed archive (which this test does not stage: see archive.test.ts).
    const { client: mongo, db } = await testDb(import.meta.filename, "", { drop: false });
    await db
      .collection("works")
      .updateOne(
        { _id: new ObjectId(id) },
        { $set: { archive: { errors: ["copy of a.dat failed: disk full"] } } },
      );
    await mongo.close();
    const shown = await runWorkflow(["--url", stack.url, "show", id], { env });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("status: success");
    expect(shown.stdout).toContain("history:");
    expect(shown.stdout).toContain("copy of a.dat failed: disk full");
    expect(shown.stdout).toMatch(
      /last log lines of attempt 1[^\n]*\n {2}one\n {2}\[stderr\] two\n {2}three\n/,
    );

    const stranger = await runWorkflow(["--url", stack.url, "logs", id], {
      env: { WORKFLOW_TOKEN: stack.token("carol", ["work:read"]).replace(/.$/, "x") },
    });
    expect(stranger.code).not.toBe(0);
    const bad = await runWorkflow(["--url", stack.url, "logs", id, "--attempt", "zero"], { env });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("--attempt");
  });

  it("logs prints an attempt longer than one page whole, in order, page by page", {
    timeout: 90_000,
  }, async () => {
    const pipeline = pipelineName();
    const count = MAX_LOG_PAGE_LINES * 2 + 500;
    const id = await deposit(pipeline, { command: ["seq", "1", String(count)], timeout: 60 });
    worker(pipeline);
    expect((await finished(id)).status).toBe("success");
    const env = { WORKFLOW_TOKEN: stack.token("alice", ["work:deposit", "work:read"]) };
    const printed = await runWorkflow(["--url", stack.url, "logs", id], { env });
    expect(printed.code).toBe(0);
    const want = Array.from({ length: count }, (_, i) => `${i + 1}\n`).join("");
    expect(printed.stdout === want, printed.stdout.slice(-200)).toBe(true);
    const json = await runWorkflow(["--url", stack.url, "--json", "logs", id], { env });
    expect((JSON.parse(json.stdout) as { lines: unknown[] }).lines).toHaveLength(count);
  });
});
