import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, runWorkflow } from "../support/cli.js";
import { type Owned, workerProcess } from "../support/processes.js";
import { eventually, type Stack, startStack } from "../support/stack.js";
import { useTempDir } from "../support/temp-dir.js";

/** A config that says more (#28 section 5), through the real CLI with real worker processes. */

let stack: Stack;
let env: Record<string, string>;
const owned: Owned[] = [];
const dir = useTempDir("pipeline-config-");

beforeAll(async () => {
  stack = await startStack(import.meta.filename);
  env = cliEnv(stack, "developer");
});
afterAll(async () => {
  await Promise.all(owned.map((o) => o.stop("SIGKILL")));
  await stack.close();
});

let serial = 0;
function configFile(lines: string[]): { name: string; file: string } {
  const name = `cfg-${++serial}-${Math.random().toString(36).slice(2, 6)}`;
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, [`version: "2"`, `name: ${name}`, ...lines].join("\n"));
  return { name, file };
}

const TYPED = [
  "defaults: {user: developer, site: local}",
  "params:",
  "  flag: {type: bool, default: false, description: run the slow path}",
  "  n: {type: int, default: 2, choices: [1, 2, 3]}",
  "pipeline:",
  "  steps:",
  "    - name: fit",
  '      work: {command: ["true"], parameters: {flag: "${{ params.flag }}", n: "${{ params.n }}"}}',
];

describe("the workflow CLI with a config that says more", () => {
  it("refuses a bad --param before anything is stored, naming the param", async () => {
    const { name, file } = configFile(TYPED);
    const ran = await runWorkflow(["pipeline", "run", file, "--param", "flag=banana"], { env });
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toMatch(/params\.flag: value "banana" is not a bool: pass true or false/);
    const choice = await runWorkflow(["pipeline", "run", file, "--param", "n=5"], { env });
    expect(choice.stderr).toMatch(/params\.n: value 5 is not one of its choices: 1, 2, 3/);
    expect(await stack.client().count({ pipeline: name })).toBe(0);
  });

  it("--dry-run shows the params with their types, the triggers, the conditions and the release time", async () => {
    const { name, file } = configFile([
      'on: [{cron: "0 2 * * *", timezone: Europe/Berlin}, {manual: true}]',
      ...TYPED,
      "    - name: alarm",
      "      needs: [fit]",
      "      if: needs.fit.result == 'failure'",
      '      work: {command: ["true"]}',
    ]);
    const ran = await runWorkflow(
      ["pipeline", "run", file, "--dry-run", "--param", "flag=true", "--at", "2030-01-01T09:00Z"],
      { env },
    );
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toContain('runs: cron "0 2 * * *" (Europe/Berlin), by hand');
    expect(ran.stdout).toContain("released at 2030-01-01T09:00:00.000Z");
    expect(ran.stdout).toContain("params: flag=true (bool), n=2 (int)");
    expect(ran.stdout).toContain("alarm after fit if needs.fit.result == 'failure': 1 works");
    expect(await stack.client().count({ pipeline: name })).toBe(0);
  });

  it("runs with a real worker: ps shows each work's step, show says it, pipeline logs and outputs cover the run", {
    timeout: 120_000,
  }, async () => {
    const { name, file } = configFile([
      "defaults: {user: developer, site: local, retries: 0}",
      "pipeline:",
      "  steps:",
      "    - name: fit",
      "      matrix: {alpha: [1, 2]}",
      '      work: {command: ["sh", "-c", "echo fit-${{ matrix.alpha }}; echo warn-${{ matrix.alpha }} >&2; test ${{ matrix.alpha }} = 1"]}',
      "    - name: alarm",
      "      needs: [fit]",
      "      if: needs.fit.result == 'failure'",
      '      work: {command: ["sh", "-c", "echo alarm"]}',
      "    - name: report",
      "      needs: [fit]",
      '      work: {command: ["sh", "-c", "echo never"]}',
    ]);
    const started = await runWorkflow(["pipeline", "run", file, "--quiet"], { env });
    expect(started.stderr).toBe("");
    const run = started.stdout.trim();
    owned.push(
      workerProcess([name, "--url", stack.url, "--sleep", "0.2"], {
        WORKFLOW_TOKEN: stack.token("worker", ["work:withdraw"]),
      }),
    );
    const done = await eventually(async () => {
      const r = await stack.client().run(run);
      return r.status === "running" ? undefined : r;
    });
    expect(Object.fromEntries(done.steps.map((s) => [s.name, s.state]))).toEqual({
      fit: "failure",
      alarm: "success",
      report: "skipped",
    });

    const ps = await runWorkflow(["ps", name], { env });
    expect(ps.stdout).toMatch(/^ID +STEP +STATUS/);
    expect(ps.stdout).toMatch(/fit\[alpha=1\] +success/);
    expect(ps.stdout).toMatch(/fit\[alpha=2\] +failure/);
    expect(ps.stdout).toMatch(/alarm +success/);
    const only = await runWorkflow(["ps", name, "--step", "alarm", "--json"], { env });
    const alarms = JSON.parse(only.stdout) as { id: string; step: string }[];
    expect(alarms.map((w) => w.step)).toEqual(["alarm"]);
    const show = await runWorkflow(["show", alarms[0]?.id as string], { env });
    expect(show.stdout).toMatch(/^step: alarm$/m);

    const logs = await runWorkflow(["pipeline", "logs", run], { env });
    expect(logs.stderr).toBe("");
    const lines = logs.stdout.split("\n").filter((l) => /^==>|fit-|warn-|alarm/.test(l));
    expect(lines.map((l) => l.replace(/ [0-9a-f]{24} /, " ID "))).toEqual([
      "==> fit[alpha=1] ID (success, attempt 1) <==",
      "fit-1",
      "[stderr] warn-1",
      "==> fit[alpha=2] ID (failure, attempt 1) <==",
      "fit-2",
      "[stderr] warn-2",
      "==> alarm ID (success, attempt 1) <==",
      "alarm",
      "==> report ID (skipped, not run yet) <==",
    ]);
    const one = await runWorkflow(["pipeline", "logs", run, "--step", "alarm"], { env });
    expect(one.stdout).not.toContain("fit-1");
    expect(one.stdout).toContain("alarm");

    const outputs = await runWorkflow(["pipeline", "outputs", run], { env });
    expect(outputs.stdout).toContain(`run ${run}  ${name}  failure`);
    expect(outputs.stdout).toMatch(/fit {2}failure {2}2 works/);
    expect(outputs.stdout).toMatch(/fit\[alpha=2\] {2}[0-9a-f]{24} {2}failure/);
    expect(outputs.stdout).toMatch(/report {2}skipped {2}1 works/);
  });

  it("deploys a config's triggers as schedules and undeploys them", async () => {
    const { name, file } = configFile([
      'on: [{cron: "0 2 * * *", timezone: Europe/Berlin}]',
      "defaults: {user: developer, site: local}",
      "pipeline:",
      "  steps:",
      "    - name: nightly",
      '      work: {command: ["true"], parameters: {at: "${{ release.time }}"}}',
    ]);
    const byHand = await runWorkflow(["pipeline", "run", file], { env });
    expect(byHand.code).not.toBe(0);
    expect(byHand.stderr).toMatch(
      /runs only on its schedule; deploy it \(workflow pipeline deploy\)/,
    );
    const deployed = await runWorkflow(["pipeline", "deploy", file], { env });
    expect(deployed.stderr).toBe("");
    expect(deployed.stdout).toContain(`deployed ${name}: 1 schedules`);
    expect(deployed.stdout).toMatch(
      new RegExp(`${name}\\.on\\.1 +0 2 \\* \\* \\* +Europe/Berlin +\\d{4}-`),
    );
    const listed = await runWorkflow(["schedule", "ls", "--json"], { env });
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: `${name}.on.1`, config: name })]),
    );
    const removed = await runWorkflow(["pipeline", "undeploy", name], { env });
    expect(removed.stdout).toContain(`undeployed ${name}`);
    const again = await runWorkflow(["pipeline", "undeploy", name], { env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/no deployed config named/);
  });

  it("deploy --dry-run prints the schedules it would make and stores nothing; --param goes on each schedule, typed", async () => {
    const { name, file } = configFile([
      'on: [{cron: "0 2 * * *", timezone: Europe/Berlin}, {cron: "30 4 * * 1"}]',
      ...TYPED,
    ]);
    const dry = await runWorkflow(
      ["pipeline", "deploy", file, "--dry-run", "--param", "n=3", "--param", "flag=true"],
      { env },
    );
    expect(dry.stderr).toBe("");
    expect(dry.stdout).toContain(
      `deploy of ${name} checked: 2 schedules (dry run: nothing stored)`,
    );
    expect(dry.stdout).toContain("each run's params: flag=true (bool), n=3 (int)");
    expect(dry.stdout).toMatch(
      new RegExp(`${name}\\.on\\.1 +0 2 \\* \\* \\* +Europe/Berlin +\\d{4}-`),
    );
    expect(dry.stdout).toMatch(new RegExp(`${name}\\.on\\.2 +30 4 \\* \\* 1 +UTC +\\d{4}-`));
    const none = await runWorkflow(["schedule", "ls", "--json"], { env });
    expect(
      (JSON.parse(none.stdout) as { config?: string }[]).filter((x) => x.config === name),
    ).toEqual([]);

    const bad = await runWorkflow(["pipeline", "deploy", file, "--param", "flag=banana"], {
      env: { ...env, WORKFLOW_HTTP_BASEURLS: "http://127.0.0.1:9" },
    });
    expect(bad.code).not.toBe(0);
    // Refused here: the service (none listens there) was never asked.
    expect(bad.stderr).toMatch(/params\.flag: value "banana" is not a bool/);

    const deployed = await runWorkflow(["--json", "pipeline", "deploy", file, "--param", "n=3"], {
      env,
    });
    expect(deployed.stderr).toBe("");
    const answer = JSON.parse(deployed.stdout) as {
      schedules: { name: string; target: { params?: unknown } }[];
    };
    expect(answer.schedules.map((x) => [x.name, x.target.params])).toEqual([
      [`${name}.on.1`, { n: 3 }],
      [`${name}.on.2`, { n: 3 }],
    ]);
    const listed = await runWorkflow(["schedule", "ls", "--json"], { env });
    expect(
      (JSON.parse(listed.stdout) as { config?: string; target: { params?: unknown } }[])
        .filter((x) => x.config === name)
        .map((x) => x.target.params),
    ).toEqual([{ n: 3 }, { n: 3 }]);
    await runWorkflow(["pipeline", "undeploy", name], { env });
  });

  it("--dry-run prints every limit of the run, and --json has them", async () => {
    const { file } = configFile([
      "timeout: 2h",
      "max-parallel: 3",
      "defaults: {user: developer, site: local}",
      "pipeline:",
      "  steps:",
      "    - name: split",
      '      work: {command: ["true"]}',
      "    - name: fit",
      "      matrix: {alpha: [1, 2], max-parallel: 1}",
      '      work: {command: ["true"], parameters: {a: "${{ matrix.alpha }}"}}',
      "    - name: process",
      "      needs: [split]",
      '      matrix: {part: "${{ needs.split.results.parts }}"}',
      "      max-parallel: 2",
      "      cache: true",
      '      work: {command: ["true"], parameters: {p: "${{ matrix.part }}"}}',
    ]);
    const dry = await runWorkflow(["pipeline", "run", file, "--dry-run"], { env });
    expect(dry.stderr).toBe("");
    expect(dry.stdout).toContain(
      "run limits: times out 2 h 0 min after it starts (timeout); at most 3 works queued or running at once, all steps together (max-parallel)",
    );
    expect(dry.stdout).toContain("step limits: fit: at most 1 of its works at once (max-parallel)");
    expect(dry.stdout).toContain(
      "step limits: process: at most 2 of its works at once (max-parallel); fans out from split.parts to at most 9997 works (a run holds at most 10000; 3 planned now)",
    );
    expect(dry.stdout).toContain(
      "process after split: fans out from split.parts at run time, 2 at a time",
    );
    expect(dry.stdout).toMatch(
      /\[each\] true \{"p":"\$\{\{ matrix\.part \}\}"\} {2}\(each looked up in the cache when made\)/,
    );

    const json = await runWorkflow(["--json", "pipeline", "run", file, "--dry-run"], { env });
    expect(json.stderr).toBe("");
    const plan = JSON.parse(json.stdout) as {
      limits: unknown;
      steps: { name: string; grows?: string; works: { cached?: string | null }[] }[];
    };
    expect(plan.limits).toEqual({
      timeout: 7200,
      maxParallel: 3,
      maxWorks: 10_000,
      planned: 3,
      steps: [
        { step: "fit", maxParallel: 1 },
        { step: "process", maxParallel: 2, fanOut: { from: ["split.parts"], atMost: 9997 } },
      ],
    });
    expect(plan.steps.map((s) => [s.name, s.grows ?? null, s.works.map((w) => w.cached)])).toEqual([
      ["split", null, [null]],
      ["fit", null, [null, null]],
      ["process", "fans out from split.parts at run time", []],
    ]);
  });

  it("--at stores the run now and says when it is released", async () => {
    const { name, file } = configFile(TYPED);
    const ran = await runWorkflow(["pipeline", "run", file, "--at", "2030-01-01T09:00+01:00"], {
      env,
    });
    expect(ran.stderr).toBe("");
    expect(ran.stdout).toMatch(
      /started run [0-9a-f]{24}: 1 works, released at 2030-01-01T08:00:00.000Z/,
    );
    const [work] = await stack.client().view({ pipeline: name });
    expect(work?.notBefore).toBe(Date.parse("2030-01-01T08:00:00Z") / 1000);
    const bad = await runWorkflow(["pipeline", "run", file, "--at", "soon"], { env });
    expect(bad.stderr).toMatch(/--at soon: not a time/);
  });
});
