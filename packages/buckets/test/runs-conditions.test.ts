import { describe, expect, it } from "vitest";
import { runCalls, runConfig } from "./support/runs.js";
import { QUIET_REAPER, useTestService } from "./support/service.js";

type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };
type Run = { id: string; status: string; steps: { name: string; state: string }[] };

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const step = (name: string, more: Record<string, unknown> = {}) => ({
  name,
  ...more,
  work: { command: ["true"], retries: 0, parameters: { step: name } },
});
const config = runConfig;
const start = (body: unknown) => t.call("POST", "/runs", { token: t.tokens.alice, body });
const runs = runCalls<Run, Claimed>(t);

/** Claims every claimable work of a pipeline, failing the steps named in `failing`. */
const drain = async (pipeline: string, failing: string[]): Promise<string[]> =>
  (
    await runs.drain(pipeline, (w) => ({
      status: failing.includes(w.parameters?.step as string) ? "failure" : "success",
    }))
  ).map((w) => w.parameters?.step as string);

const states = async (id: string) => {
  const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as Run;
  return { status: run.status, ...Object.fromEntries(run.steps.map((s) => [s.name, s.state])) };
};

describe("if: conditions on named needs", () => {
  const steps = [
    step("main"),
    step("other"),
    step("on-fail", { needs: ["main"], if: "needs.main.result == 'failure'" }),
    step("on-pass", { needs: ["main"], if: "${{ needs.main.result != 'failure' }}" }),
    step("either", {
      needs: ["main", "other"],
      if: "needs.main.result == 'failure' || needs.other.result == 'failure'",
    }),
    step("both", {
      needs: ["main", "other"],
      if: "!(needs.main.result == 'failure') && needs.other.result == 'success'",
    }),
    step("anyway", { needs: ["on-fail"], if: "always() && !cancelled()" }),
  ];

  it("runs the steps whose condition holds when main fails", async () => {
    const name = fresh("cond-fail");
    const answer = await start({ config: config(name, steps) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const ran = await drain(name, ["main"]);
    expect(ran.sort()).toEqual(["anyway", "either", "main", "on-fail", "other"]);
    expect(await states((answer.body as { id: string }).id)).toMatchObject({
      main: "failure",
      "on-fail": "success",
      "on-pass": "skipped",
      either: "success",
      both: "skipped",
      anyway: "success",
    });
  });

  it("and the others when it succeeds", async () => {
    const name = fresh("cond-pass");
    const answer = await start({ config: config(name, steps) });
    expect(answer.status).toBe(201);
    const ran = await drain(name, []);
    expect(ran.sort()).toEqual(["anyway", "both", "main", "on-pass", "other"]);
    expect(await states((answer.body as { id: string }).id)).toMatchObject({
      status: "success",
      "on-fail": "skipped",
      either: "skipped",
      anyway: "success",
    });
  });

  it.each([
    [
      "a step it does not need",
      step("b", { needs: ["a"], if: "needs.c.result == 'failure'" }),
      /step "b" .*if: needs\.c\.result: the step does not need a step "c"/,
    ],
    [
      "an unknown name",
      step("b", { needs: ["a"], if: "process.exit == 'failure'" }),
      /step "b" .*if: unknown name "process.exit"/,
    ],
    [
      "an unknown function",
      step("b", { needs: ["a"], if: "sometimes()" }),
      /step "b" .*if: unknown function "sometimes\(\)"/,
    ],
    [
      "a result that does not exist",
      step("b", { needs: ["a"], if: "needs.a.result == 'failed'" }),
      /step "b" .*if: 'failed' is never a result: use one of success, failure, skipped, cancelled/,
    ],
    [
      "code",
      step("b", { needs: ["a"], if: "needs.a.result == 'x'; require('fs')" }),
      /step "b" .*if: unexpected ";"/,
    ],
    ["an unclosed group", step("b", { needs: ["a"], if: "(success()" }), /expected "\)"/],
    ["an empty one", step("b", { needs: ["a"], if: "${{ }}" }), /if: it is empty/],
  ])("refuses %s at submission, storing nothing", async (_what, bad, message) => {
    const name = fresh("cond-bad");
    const answer = await start({ config: config(name, [step("a"), bad]) });
    expect(answer.status).toBe(400);
    expect((answer.body as { error: { message: string } }).error.message).toMatch(message);
    const runs = await t.call("GET", `/runs?name=${name}`, { token: t.tokens.alice });
    expect(runs.body).toEqual([]);
  });
});

describe("cancelled(): a step whose works were cancelled ends cancelled", () => {
  // Written as GitHub writes conditions, each wrapped whole in ${{ }}, in YAML as a user sends it.
  const yaml = (name: string) => `
version: "2"
name: ${name}
defaults: { site: local }
pipeline:
  steps:
    - name: main
      matrix: { i: [1, 2] }
      work: { command: ["true"], retries: 0, parameters: { step: main } }
    - name: cleanup
      needs: [main]
      if: \${{ cancelled() }}
      work: { command: ["true"], parameters: { step: cleanup } }
    - name: named
      needs: [main]
      if: \${{ needs.main.result == 'cancelled' }}
      work: { command: ["true"], parameters: { step: named } }
    - name: usual
      needs: [main]
      work: { command: ["true"], parameters: { step: usual } }
    - name: on-fail
      needs: [main]
      if: failure()
      work: { command: ["true"], parameters: { step: on-fail } }
`;

  it("when its owner cancels them: cancelled() and needs.X.result == 'cancelled' hold", async () => {
    const name = fresh("cond-cancel");
    const answer = await start({ config: yaml(name) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const id = (answer.body as { id: string }).id;
    const run = (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as {
      steps: { name: string; if: string }[];
    };
    // Read as the bare expression.
    expect(run.steps.find((s) => s.name === "named")?.if).toBe("needs.main.result == 'cancelled'");
    expect(run.steps.find((s) => s.name === "cleanup")?.if).toBe("cancelled()");
    // One of main's works succeeds; its owner cancels the other.
    const first = (
      await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: { pipeline: name } })
    ).body as Claimed;
    await t.call("PUT", "/work", {
      token: t.tokens.worker,
      body: [{ id: first.id, attempt: first.attempt, status: "success" }],
    });
    const left = (
      await t.call("POST", "/view", {
        token: t.tokens.alice,
        body: { query: { pipeline: name, step: "main", status: "queued" } },
      })
    ).body as { id: string }[];
    expect(left).toHaveLength(1);
    const cancel = await t.call("POST", `/work/${left[0]?.id}/cancel`, { token: t.tokens.alice });
    expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
    expect(await states(id)).toMatchObject({ main: "cancelled" });
    const ran = await drain(name, []);
    expect(ran.sort()).toEqual(["cleanup", "named"]);
    expect(await states(id)).toMatchObject({
      main: "cancelled",
      cleanup: "success",
      named: "success",
      usual: "skipped",
      "on-fail": "skipped",
      // No step failed, one was cancelled: the run ends cancelled, as GitHub concludes one.
      status: "cancelled",
    });
    const events = (
      (await t.call("GET", `/runs/${id}`, { token: t.tokens.alice })).body as {
        events: { kind: string; step?: string }[];
      }
    ).events;
    expect(events).toContainEqual(
      expect.objectContaining({ kind: "step cancelled", step: "main" }),
    );
  });

  it("a work that failed makes the step failed, even with others cancelled (fail-fast)", async () => {
    const name = fresh("cond-failfast");
    const answer = await start({
      config: config(name, [
        {
          ...step("main"),
          matrix: { i: [1, 2], "fail-fast": true, "max-parallel": 1 },
        },
        step("cleanup", { needs: ["main"], if: "cancelled()" }),
        step("on-fail", { needs: ["main"], if: "failure()" }),
      ]),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    const ran = await drain(name, ["main"]);
    expect(ran.sort()).toEqual(["main", "on-fail"]);
    expect(await states((answer.body as { id: string }).id)).toMatchObject({
      main: "failure",
      cleanup: "skipped",
    });
  });

  it("a cancelled run (paused first) records its unfinished steps as cancelled", async () => {
    const name = fresh("cond-run-cancel");
    const answer = await start({ config: yaml(name) });
    const id = (answer.body as { id: string }).id;
    expect((await t.call("POST", `/runs/${id}/pause`, { token: t.tokens.alice })).status).toBe(200);
    expect((await t.call("POST", `/runs/${id}/cancel`, { token: t.tokens.alice })).status).toBe(
      200,
    );
    expect(await states(id)).toMatchObject({
      status: "cancelled",
      main: "cancelled",
      cleanup: "cancelled",
    });
    // Rerunning its failures reruns the cancelled steps' works that failed: none here, so the
    // run stays as it ended; rerunning what did not finish carries it on.
    const again = await t.call("POST", `/runs/${id}/rerun`, {
      token: t.tokens.alice,
      body: { unfinishedOnly: true },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect((await states(id)).status).toBe("running");
  });
});
