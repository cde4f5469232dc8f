import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runWorkflow } from "../support/cli.js";
import { eventually, type Stack, startStack } from "../support/stack.js";

/** The CLI's rough edges found in the first week of real use (#27). */
let stack: Stack;
let runId: string;
beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  const client = stack.client();
  await client.deposit(
    Array.from({ length: 20 }, (_, i) => ({
      pipeline: "week",
      site: "s",
      user: "alice",
      command: ["true"],
      event: [i],
    })),
  );
  const run = await client.startRun({
    version: "2",
    name: "week-run",
    defaults: { user: "alice", site: "s" },
    pipeline: {
      steps: [{ name: "only", matrix: { n: [1, 2, 3] }, work: { command: ["true"] } }],
    },
  });
  runId = run.id;
});
afterAll(async () => {
  await stack.close();
});

const as = (token: string) => ({ env: { HOME: "/nonexistent", WORKFLOW_TOKEN: token } });
const reader = () => as(stack.token("alice", ["work:read"]));
const workflow = (args: string[], options: Parameters<typeof runWorkflow>[1] = reader()) =>
  runWorkflow(["--url", stack.url, ...args], options);

describe("a reader that stops reading (`| head`)", () => {
  // The pipe is closed before the command prints: every write it makes meets EPIPE, as the
  // writes after `head` has its lines do (Linux writes to a pipe synchronously, so closing
  // after the first line would race the command's last write).
  for (const args of [["ls"], ["ps", "week", "--all"], ["pipeline", "ps", "RUN"]]) {
    it(`workflow ${args.join(" ")} exits 0 and says nothing`, async () => {
      const ran = await workflow(
        args.map((arg) => (arg === "RUN" ? runId : arg)),
        { ...reader(), onSpawn: (child: ChildProcess) => child.stdout?.destroy() },
      );
      expect(ran.stderr).toBe("");
      expect(ran.code).toBe(0);
    });
  }
});

/** Works of `pipeline` (retries 0), run by a worker: the first `failures` fail, the rest succeed. */
async function finished(pipeline: string, failures: number, successes: number) {
  const client = stack.client();
  const worker = stack.client({ workerId: "w1" });
  const n = failures + successes;
  await client.deposit(
    Array.from({ length: n }, (_, i) => ({
      pipeline,
      site: "s",
      user: "alice",
      command: ["true"],
      event: [i],
      retries: 0,
    })),
  );
  const taken = (await worker.withdraw({ pipeline }, { count: n })) as { id: string }[];
  await worker.update(
    taken.map((w, i) => ({
      id: w.id,
      attempt: 1,
      status: i < failures ? ("failure" as const) : ("success" as const),
    })),
  );
  return taken.map((w) => w.id);
}
const owner = () => as(stack.token("alice", ["work:deposit", "work:read"]));
const statusOf = async (id: string) => (await stack.client().view({ id }))[0]?.status;

describe("workflow retry", () => {
  it("queues a finished work again, as the dashboard's Retry does", async () => {
    const [failed, done] = await finished("retry-one", 1, 1);
    const ran = await workflow(["retry", failed as string, done as string], owner());
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe("retried 2 of 2 works\n");
    expect(await statusOf(failed as string)).toBe("queued");
    expect(await statusOf(done as string)).toBe("queued");
    // A fresh set of retries: a worker can take it again.
    const again = await stack.client({ workerId: "w2" }).withdraw({ pipeline: "retry-one" });
    expect(again).not.toBeNull();
  });

  it("--pipeline P --status failure retries the failures and nothing else", async () => {
    const ids = await finished("retry-many", 3, 2);
    const ran = await workflow(
      ["retry", "--pipeline", "retry-many", "--status", "failure"],
      owner(),
    );
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toBe("retried 3 of 3 works\n");
    expect(await Promise.all(ids.map(statusOf))).toEqual([
      "queued",
      "queued",
      "queued",
      "success",
      "success",
    ]);
    const none = await workflow(
      ["retry", "--pipeline", "retry-many", "--status", "failure"],
      owner(),
    );
    expect(none.code).toBe(0);
    expect(none.stdout).toBe("no finished works match\n");
  });

  it("a work that cannot be retried, or does not exist, is named with why, and it exits 1", async () => {
    const [failed] = await finished("retry-mixed", 1, 0);
    const [queued] = await stack
      .client()
      .deposit([{ pipeline: "retry-mixed", site: "s", user: "alice", command: ["true"] }], {
        returnIds: true,
      });
    const nowhere = "0123456789abcdef01234567";
    const ran = await workflow(["retry", failed as string, queued as string, nowhere], owner());
    expect(ran.code).toBe(1);
    expect(ran.stdout).toBe("retried 1 of 3 works\n");
    expect(ran.stderr).toContain(`workflow: ${nowhere}: no such work`);
    expect(ran.stderr).toContain(`workflow: ${queued}: queued, not finished: nothing to retry`);
    expect(await statusOf(failed as string)).toBe("queued");
  });

  it("another user's work is refused by the service, as on the dashboard", async () => {
    const [failed] = await finished("retry-theirs", 1, 0);
    const ran = await workflow(
      ["retry", failed as string],
      as(stack.token("bob", ["work:deposit", "work:read"])),
    );
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain(failed as string);
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    expect(await statusOf(failed as string)).toBe("failure");
  });

  it("workflow rerun of a work outside a run says to use retry", async () => {
    const [failed] = await finished("rerun-alone", 1, 0);
    const ran = await workflow(["rerun", failed as string], owner());
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain(`not part of a pipeline run: \`workflow retry ${failed}\``);
    expect(await statusOf(failed as string)).toBe("failure");
  });
});

describe("workflow token and its maker's lifetime", () => {
  const admin = () => as(stack.token("admin", ["admin"]));
  const mint = (args: string[], options = admin()) =>
    workflow(["token", "--user", "eve", "--scope", "work:read", ...args], options);

  it("a lifetime cut to the minting token's is said, in hours and minutes, with why", async () => {
    const day = await mint(["--scope", "admin", "--expires", "1d"]);
    expect(day.code, day.stderr).toBe(0);
    expect(day.stderr).toBe("");
    const shortLived = as(day.stdout.trim());
    const cut = await mint([], shortLived);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout.trim()).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(cut.stderr).toMatch(
      /^workflow: this token expires with yours, at \d{4}-\d\d-\d\dT[\d:.]+Z \(in 23 h 5\d min\), short of the default lifetime: a token may not outlive the one that mints it\n$/,
    );
    const tooLong = await mint(["--expires", "2d"], shortLived);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toContain("may not outlive it: ask for 23 h 5");
    expect(tooLong.stderr).not.toMatch(/may last \d+ s/);
  });
});

describe("workflow rerun and show say what happened", () => {
  it("rerun --failed with nothing failed says so, not '0 works (steps )'", async () => {
    const client = stack.client();
    const { id, works } = await client.startRun({
      version: "2",
      name: "week-done",
      defaults: { user: "alice", site: "s" },
      pipeline: { steps: [{ name: "only", matrix: { n: [1, 2] }, work: { command: ["true"] } }] },
    });
    const worker = stack.client({ workerId: "w3" });
    const taken = await worker.withdraw(
      { pipeline: "week-done", "config.parent": id },
      { count: works.length },
    );
    expect(taken).toHaveLength(works.length);
    await worker.update(taken.map((w) => ({ id: w.id, attempt: 1, status: "success" as const })));
    await eventually(async () => ((await client.run(id)).status === "success" ? true : undefined));
    const ran = await workflow(["rerun", id, "--failed"], owner());
    expect(ran.stderr).toBe("");
    expect(ran.code).toBe(0);
    expect(ran.stdout).toBe(`nothing to rerun: no step failed in run ${id}\n`);
  });

  it("show of a queued work says it has not run yet, with ISO times", async () => {
    const [queued] = await stack
      .client()
      .deposit([{ pipeline: "show-queued", site: "s", user: "alice", command: ["true"] }], {
        returnIds: true,
      });
    const ran = await workflow(["show", queued as string]);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain("\nno log lines: it has not run yet (queued)\n");
    expect(ran.stdout).not.toContain("attempt 1");
    expect(ran.stdout).toMatch(/^creation: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/m);
  });

  it("show of a finished work prints its times, and its attempts', as ISO times", async () => {
    const [failed] = await finished("show-finished", 1, 0);
    const ran = await workflow(["show", failed as string]);
    expect(ran.code, ran.stderr).toBe(0);
    const iso = "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z";
    for (const field of ["creation", "start", "stop"]) {
      expect(ran.stdout).toMatch(new RegExp(`^${field}: ${iso}$`, "m"));
    }
    expect(ran.stdout).toMatch(new RegExp(`^ {4}start: ${iso}$`, "m")); // in history
    expect(ran.stdout).not.toMatch(/: 1\d{9}(\.\d+)?$/m); // no unix seconds anywhere
    // --json keeps unix seconds, for scripts.
    const json = await workflow(["show", failed as string, "--json"]);
    expect(typeof JSON.parse(json.stdout).creation).toBe("number");
  });
});
