import jwt from "jsonwebtoken";
import { describe, expect, it } from "vitest";
import { pipelineConfig, stepOne, yamlConfig } from "../../../test/support/configs.js";
import type { Scope } from "../src/index.js";
import { servedRoutes } from "./support/routes.js";
import { aWork, QUIET_REAPER, TEST_SECRET, useTestService } from "./support/service.js";

/**
 * Every route of the service x every kind of caller, each cell asserting the documented answer.
 * The routes come from the app's own router, so a route added without a row here fails the first
 * test: add its row to ROUTES below (its rightful caller, its request, and any answer that differs
 * from the defaults).
 */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

const CASES = [
  "no token",
  "bad signature",
  "expired",
  "alg none",
  "wrong scope",
  "another user",
  "another depositor",
  "outside its pipelines",
  "admin",
  "rightful caller",
] as const;
type Case = (typeof CASES)[number];

/** Who may call a route: `owner` deposited the work; `worker` claimed it; `caller` is anyone with the scopes. */
type Role = "owner" | "worker" | "caller";

interface Fixture {
  /** A pipeline of this cell's own, so cells never see each other's works. */
  pipeline: string;
  /** A work alice deposited in it, claimed by worker-1 (attempt 1) when the role is `worker`. */
  id: string;
  /** A run alice started in it, for rows that ask for one (`makes: "run"`). */
  run: string;
  /** A schedule of alice's depositing to it, for rows that ask for one (`makes: "schedule"`). */
  schedule: string;
}

interface Row {
  /** The scopes of the rightful caller; `public` routes need no token at all. */
  scopes: Scope[] | "public";
  role: Role;
  /** The request, built for one cell's fixture. */
  request(f: Fixture): { path: string; body?: unknown };
  /** Answers that differ from DEFAULTS. */
  expect?: Partial<Record<Case, number>>;
  /** With a token limited to other pipelines the route answers 200 but shows nothing of this one. */
  hidesOtherPipelines?: true;
  /** Another user's deposit-only token is answered 200 but shown (and counted) nothing of alice's. */
  hidesFromDepositors?: true;
  /** The fixture's work is still there after every caller but the rightful one and admin. */
  keepsWork?: true;
  /**
   * The fixture also holds a run of alice's in the cell's pipeline, running or ended (cancelled),
   * a schedule, or a result (her work, finished, kept in the results store).
   */
  makes?: "run" | "ended run" | "schedule" | "result";
}

const DEFAULTS: Record<Case, number> = {
  "no token": 401,
  "bad signature": 401,
  expired: 401,
  "alg none": 401,
  "wrong scope": 403,
  "another user": 403,
  "another depositor": 403,
  "outside its pipelines": 403,
  admin: 200,
  "rightful caller": 200,
};

const publicRow = (path: string): Row => ({
  scopes: "public",
  role: "caller",
  request: () => ({ path }),
});

/** Reads and admin actions are not per user: another user with the same scopes is answered too. */
const ANY_USER = { "another user": 200 } as const;
/** What only the claimer of an attempt may do: anyone else within the pipelines gets 403. */
const CLAIMER_ONLY = { "outside its pipelines": 404, "another user": 403, admin: 403 } as const;

/**
 * Another user's work, run or schedule that the caller may not read does not exist for it: the
 * same 404 as an unknown id, never a 403 that confirms it and names its owner.
 */
const NOT_THEIRS = { "another user": 404, "another depositor": 404 } as const;

/** Listings accept a deposit-only token and answer its own things only: here, none. */
const OWN_ONLY = { "another depositor": 200 } as const;

/** The results store's prefix, and alice's fixture work as it is kept there once finished. */
const RESULTS = "/results-service";
const finished = (pipeline: string, id: string | undefined, results: object = { snr: 9 }) =>
  aWork({ pipeline, id, status: "success", results });

const ROOT_ROUTES: Record<string, Row> = {
  "GET /version": publicRow("/version"),
  "GET /livez": publicRow("/livez"),
  "GET /readyz": publicRow("/readyz"),
  "GET /openapi.json": publicRow("/openapi.json"),
  // The dashboard's files and the API's page; their data calls send a token like any other.
  "GET /": publicRow("/"),
  "GET /ui": publicRow("/ui"),
  "GET /docs": publicRow("/docs"),
  "GET /activity/counts": {
    scopes: ["work:read"],
    role: "caller",
    request: () => ({ path: "/activity/counts" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /activity/minutes": {
    scopes: ["work:read"],
    role: "caller",
    request: () => ({ path: "/activity/minutes" }),
    // Always 60 minutes (with their times); outside its pipelines every count is 0 (dashboard-api).
    expect: { ...ANY_USER, "outside its pipelines": 200 },
  },
  "GET /activity/workers": {
    scopes: ["work:read"],
    role: "caller",
    request: () => ({ path: "/activity/workers" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "POST /work/bulk": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({
      path: "/work/bulk",
      body: { query: { pipeline: f.pipeline }, action: "cancel", confirmed: 1 },
    }),
    // Outside its pipelines, or for another user who may not read alice's works, the query matches
    // nothing: no count tells of works the caller may not read.
    expect: { "another user": 200, "another depositor": 200 },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
    keepsWork: true,
  },
  "GET /metrics": {
    scopes: ["metrics"],
    role: "caller",
    request: () => ({ path: "/metrics" }),
    // Metrics cover every pipeline: a token limited to some may not read them.
    expect: ANY_USER,
  },
  "POST /work": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/work", body: [aWork({ pipeline: f.pipeline })] }),
  },
  "POST /work/withdraw": {
    scopes: ["work:withdraw"],
    role: "worker",
    request: (f) => ({ path: "/work/withdraw", body: { pipeline: f.pipeline } }),
    expect: ANY_USER,
  },
  "POST /work/:id/heartbeat": {
    scopes: ["work:withdraw"],
    role: "worker",
    request: (f) => ({ path: `/work/${f.id}/heartbeat?attempt=1` }),
    // Outside its pipelines a work does not exist for the caller. Inside them, a claim belongs to
    // its claimer: another worker token, or an admin's, is refused.
    expect: CLAIMER_ONLY,
  },
  "POST /work/:id/release": {
    scopes: ["work:withdraw"],
    role: "worker",
    request: (f) => ({ path: `/work/${f.id}/release?attempt=1` }),
    expect: CLAIMER_ONLY,
  },
  "POST /work/:id/cancel": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: `/work/${f.id}/cancel` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "PUT /work": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/work", body: [{ id: f.id, priority: 5 }] }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "DELETE /work": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: `/work?ids=${f.id}` }),
    // Unknown ids are ignored (a retried delete succeeds), and so are ids the caller may not read.
    expect: { "another user": 200, "another depositor": 200, "outside its pipelines": 200 },
    keepsWork: true,
  },
  "GET /work/:id": {
    scopes: ["work:read"],
    role: "owner",
    request: (f) => ({ path: `/work/${f.id}` }),
    // Readers read any work within their pipelines; outside them it does not exist.
    expect: { ...ANY_USER, "another depositor": 404, "outside its pipelines": 404 },
  },
  "GET /work/:id/logs": {
    scopes: ["work:read"],
    role: "owner",
    request: (f) => ({ path: `/work/${f.id}/logs` }),
    expect: { ...ANY_USER, "another depositor": 404, "outside its pipelines": 404 },
  },
  "POST /work/:id/logs": {
    scopes: ["work:withdraw"],
    role: "worker",
    request: (f) => ({
      path: `/work/${f.id}/logs?attempt=1`,
      body: { lines: [{ t: 1, stream: "stdout", text: "hello" }] },
    }),
    // Fenced as heartbeats are: by the attempt and its claimer, within the token's pipelines.
    expect: CLAIMER_ONLY,
  },
  "GET /audit/failed": {
    scopes: ["admin"],
    role: "caller",
    request: () => ({ path: "/audit/failed" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /audit/expired": {
    scopes: ["admin"],
    role: "caller",
    request: () => ({ path: "/audit/expired" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /audit/stale/:days": {
    scopes: ["admin"],
    role: "caller",
    request: () => ({ path: "/audit/stale/0" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "POST /tokens": {
    scopes: ["admin"],
    role: "caller",
    // An unrestricted token: one limited to other pipelines may not mint it.
    request: () => ({ path: "/tokens", body: { user: "eve", scopes: ["work:read"] } }),
    expect: ANY_USER,
  },
  "POST /view": {
    scopes: ["work:read"],
    role: "caller",
    request: (f) => ({ path: "/view", body: { query: { pipeline: f.pipeline } } }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "POST /view/count": {
    scopes: ["work:read"],
    role: "caller",
    request: (f) => ({ path: "/view/count", body: { query: { pipeline: f.pipeline } } }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /status": {
    scopes: ["work:read"],
    role: "caller",
    request: () => ({ path: "/status" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /status/pipelines": {
    scopes: ["work:read"],
    role: "caller",
    request: () => ({ path: "/status/pipelines" }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "POST /runs": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/runs", body: { config: runConfig(f.pipeline) } }),
    expect: { admin: 201, "rightful caller": 201 },
  },
  "POST /runs/preview": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/runs/preview", body: { config: runConfig(f.pipeline) } }),
  },
  "POST /cache/expire": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "ended run",
    request: (f) => ({ path: "/cache/expire", body: { run: f.run, step: "one" } }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "GET /runs": {
    scopes: ["work:read"],
    role: "caller",
    makes: "run",
    request: () => ({ path: "/runs" }),
    expect: { ...ANY_USER, ...OWN_ONLY },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
  },
  "GET /runs/:id": {
    scopes: ["work:read"],
    role: "caller",
    makes: "run",
    request: (f) => ({ path: `/runs/${f.run}` }),
    expect: { ...ANY_USER, "another depositor": 404, "outside its pipelines": 404 },
  },
  "GET /runs/:id/outputs": {
    scopes: ["work:read"],
    role: "caller",
    makes: "run",
    request: (f) => ({ path: `/runs/${f.run}/outputs` }),
    expect: { ...ANY_USER, "another depositor": 404, "outside its pipelines": 404 },
  },
  "POST /runs/:id/cancel": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "run",
    request: (f) => ({ path: `/runs/${f.run}/cancel` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /runs/:id/rerun": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "ended run",
    request: (f) => ({ path: `/runs/${f.run}/rerun`, body: {} }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /runs/:id/pause": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "run",
    request: (f) => ({ path: `/runs/${f.run}/pause` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /runs/:id/resume": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "run",
    request: (f) => ({ path: `/runs/${f.run}/resume` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /runs/:id/steps": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "run",
    request: (f) => ({
      path: `/runs/${f.run}/steps`,
      body: { steps: [{ name: "two", needs: ["one"], work: { command: ["true"] } }] },
    }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /schedules": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/schedules", body: scheduleOf(f.pipeline) }),
    expect: { admin: 201, "rightful caller": 201 },
  },
  "GET /schedules": {
    scopes: ["work:read"],
    role: "caller",
    makes: "schedule",
    request: () => ({ path: "/schedules" }),
    // Another user is answered their own schedules: none.
    expect: { ...ANY_USER, ...OWN_ONLY },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
  },
  "GET /schedules/:id": {
    scopes: ["work:read"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/schedules/${f.schedule}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /schedules/:id/pause": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/schedules/${f.schedule}/pause` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /schedules/:id/resume": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/schedules/${f.schedule}/resume` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "DELETE /schedules/:id": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/schedules/${f.schedule}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /configs": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: "/configs", body: configOf(f.pipeline) }),
  },
  "GET /configs": {
    scopes: ["work:read"],
    role: "caller",
    makes: "run",
    request: () => ({ path: "/configs" }),
    expect: { ...ANY_USER, ...OWN_ONLY },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
  },
  "GET /configs/count": {
    scopes: ["work:read"],
    role: "caller",
    makes: "run",
    request: () => ({ path: "/configs/count" }),
    expect: { ...ANY_USER, ...OWN_ONLY },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
  },
  "PUT /configs/cancel": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "run",
    request: (f) => ({ path: `/configs/cancel?query=${byId(f.run)}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "DELETE /configs": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "ended run",
    request: (f) => ({ path: `/configs?query=${byId(f.run)}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "POST /configs/retry": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "ended run",
    request: (f) => ({ path: "/configs/retry", body: { id: f.run } }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  // v1 configs are never migrated: any caller with a token hears why.
  "POST /configs/migrate": {
    scopes: ["work:deposit"],
    role: "caller",
    request: () => ({ path: "/configs/migrate", body: {} }),
    expect: {
      "wrong scope": 400,
      "another user": 400,
      "another depositor": 400,
      "outside its pipelines": 400,
      admin: 400,
      "rightful caller": 400,
    },
  },
  "POST /v2/schedule": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({
      path: "/v2/schedule",
      body: { ...configOf(f.pipeline), schedule: { cronspec: "0 2 * * *" } },
    }),
    expect: { admin: 201, "rightful caller": 201 },
  },
  "GET /v2/schedule": {
    scopes: ["work:read"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/v2/schedule?query=${byId(f.schedule)}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "GET /v2/schedule/count": {
    scopes: ["work:read"],
    role: "caller",
    makes: "schedule",
    request: () => ({ path: "/v2/schedule/count" }),
    expect: { ...ANY_USER, ...OWN_ONLY },
    hidesOtherPipelines: true,
    hidesFromDepositors: true,
  },
  "DELETE /v2/schedule": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "schedule",
    request: (f) => ({ path: `/v2/schedule?query=${byId(f.schedule)}` }),
    expect: { ...NOT_THEIRS, "outside its pipelines": 404 },
  },
  "GET /status/details/:pipeline": {
    scopes: ["work:read"],
    role: "caller",
    request: (f) => ({ path: `/status/details/${f.pipeline}` }),
    expect: ANY_USER,
  },
  "GET /results-service/version": publicRow(`${RESULTS}/version`),
  "POST /results-service/results": {
    scopes: ["work:deposit"],
    role: "owner",
    request: (f) => ({ path: `${RESULTS}/results`, body: [finished(f.pipeline, f.id)] }),
  },
  "PUT /results-service/results": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "result",
    request: (f) => ({
      path: `${RESULTS}/results`,
      body: [finished(f.pipeline, f.id, { snr: 10 })],
    }),
  },
  "DELETE /results-service/results": {
    scopes: ["work:deposit"],
    role: "owner",
    makes: "result",
    request: (f) => ({ path: `${RESULTS}/results?${f.pipeline}=${f.id}` }),
  },
  "POST /results-service/view": {
    scopes: ["work:read"],
    role: "caller",
    makes: "result",
    request: (f) => ({ path: `${RESULTS}/view`, body: { query: { pipeline: f.pipeline } } }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "POST /results-service/view/count": {
    scopes: ["work:read"],
    role: "caller",
    makes: "result",
    request: (f) => ({ path: `${RESULTS}/view/count`, body: { query: { pipeline: f.pipeline } } }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
  "GET /results-service/status": {
    scopes: ["work:read"],
    role: "caller",
    makes: "result",
    request: () => ({ path: `${RESULTS}/status` }),
    expect: ANY_USER,
    hidesOtherPipelines: true,
  },
};

/**
 * CHIME's workspace gives its configs, pipelines and schedules clients one base URL, `.../v2`: the
 * routes its clients call there answer exactly as at the root, to every caller.
 */
const AT_CHIME_BASE = /^[A-Z]+ \/(?:version|status|configs(?:\/.*)?)$/;
const ROUTES: Record<string, Row> = {
  ...ROOT_ROUTES,
  ...Object.fromEntries(
    Object.entries(ROOT_ROUTES)
      .filter(([route]) => AT_CHIME_BASE.test(route))
      .map(([route, row]) => [
        route.replace(" /", " /v2/"),
        {
          ...row,
          request: (f: Fixture) => {
            const request = row.request(f);
            return { ...request, path: `/v2${request.path}` };
          },
        },
      ]),
  ),
};

/** A one-step pipeline config: its works go to the pipeline named after the config. */
const runConfig = (pipeline: string) => yamlConfig(pipeline, stepOne());

/** The same config as CHIME's CLI sends it: the YAML read into a mapping. */
const configOf = (pipeline: string) =>
  pipelineConfig(pipeline, [{ name: "one", stage: 1, work: { command: ["true"] } }], {
    user: "alice",
  });

/** CHIME's `?query=` naming one object. */
const byId = (id: string) => encodeURIComponent(JSON.stringify({ id }));

/** A nightly schedule of one work in the cell's pipeline, named after it. */
const scheduleOf = (pipeline: string) => ({
  name: pipeline,
  cron: "0 2 * * *",
  target: { works: [aWork({ pipeline })] },
});

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** The token each case sends: forged ones claim admin, to show that claims alone open nothing. */
function tokenFor(row: Row, kase: Case): string | null {
  const scopes = row.scopes === "public" ? (["work:read"] as Scope[]) : row.scopes;
  const user = row.role === "worker" ? "worker-1" : "alice";
  const admin = { sub: "root", scopes: ["admin"] };
  switch (kase) {
    case "no token":
      return null;
    case "bad signature":
      return jwt.sign(admin, "not-the-service-secret-0123456789");
    case "expired":
      return jwt.sign({ ...admin, exp: Math.floor(Date.now() / 1000) - 60 }, TEST_SECRET);
    case "alg none":
      return `${b64({ alg: "none", typ: "JWT" })}.${b64(admin)}.`;
    case "wrong scope":
      return t.token(
        user,
        scopes.includes("metrics") ? ["work:read", "work:deposit", "work:withdraw"] : ["metrics"],
      );
    case "another user":
      return t.token(row.role === "worker" ? "worker-2" : "bob", scopes);
    case "another depositor":
      return t.token(row.role === "worker" ? "worker-2" : "bob", ["work:deposit"]);
    case "outside its pipelines":
      return t.token(user, scopes, ["elsewhere"]);
    case "admin":
      return t.tokens.admin;
    case "rightful caller":
      return t.token(user, scopes);
  }
}

function expected(row: Row, kase: Case): number {
  if (row.scopes === "public") return 200;
  const own = row.expect?.[kase];
  if (own !== undefined) return own;
  return kase === "outside its pipelines" && row.hidesOtherPipelines ? 200 : DEFAULTS[kase];
}

const METHOD_BODY = new Set(["POST", "PUT"]);
let cells = 0;

/** A pipeline of the cell's own with one work of alice's in it; claimed when the route is a worker's. */
async function fixture(row: Row): Promise<Fixture> {
  const pipeline = `matrix-${++cells}`;
  const deposited = await t.call("POST", "/work?return_ids=true", {
    token: t.tokens.alice,
    body: [aWork({ pipeline })],
  });
  const [id] = deposited.body as string[];
  let run = "";
  let schedule = "";
  if (row.makes === "result") {
    const kept = await t.call("POST", `${RESULTS}/results`, { body: [finished(pipeline, id)] });
    expect(kept.status, JSON.stringify(kept.body)).toBe(200);
  } else if (row.makes === "schedule") {
    const added = await t.call("POST", "/schedules", {
      token: t.tokens.alice,
      body: scheduleOf(pipeline),
    });
    expect(added.status, JSON.stringify(added.body)).toBe(201);
    schedule = (added.body as { id: string }).id;
  } else if (row.makes) {
    const started = await t.call("POST", "/runs", {
      token: t.tokens.alice,
      body: { config: runConfig(pipeline) },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    run = (started.body as { id: string }).id;
    if (row.makes === "ended run") {
      const ended = await t.call("POST", `/runs/${run}/cancel`, { token: t.tokens.alice });
      expect(ended.status, JSON.stringify(ended.body)).toBe(200);
    }
  }
  if (row.role === "worker") {
    const claimed = await t.call("POST", "/work/withdraw?lease=60", {
      token: t.token("worker-1", ["work:withdraw"]),
      body: { pipeline },
    });
    expect((claimed.body as { id?: string } | null)?.id, "the fixture's claim").toBe(id);
  }
  return { pipeline, id: id as string, run, schedule };
}

describe("the authorization matrix", () => {
  it("has a row for every route the service serves, and no row for a route it does not", () => {
    expect(servedRoutes(t).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  for (const [route, row] of Object.entries(ROUTES)) {
    it(route, async () => {
      const method = route.split(" ")[0] as string;
      const answers: Record<string, number> = {};
      const wanted: Record<string, number> = {};
      const leaks: string[] = [];
      for (const kase of CASES) {
        const f = await fixture(row);
        const { path, body } = row.request(f);
        const got = await t.call(method, path, {
          token: tokenFor(row, kase),
          ...(METHOD_BODY.has(method) && body !== undefined ? { body } : {}),
        });
        answers[kase] = got.status;
        wanted[kase] = expected(row, kase);
        const hides =
          (kase === "outside its pipelines" && row.hidesOtherPipelines) ||
          (kase === "another depositor" && row.hidesFromDepositors);
        if (hides && got.status === 200) {
          const text = JSON.stringify(got.body);
          const named = [f.pipeline, f.id, f.run].filter((s) => s !== "");
          if (named.some((s) => text.includes(s)) || /[1-9]/.test(text))
            leaks.push(`${kase}: ${text}`);
        }
        if (row.keepsWork && kase !== "admin" && kase !== "rightful caller") {
          const kept = await t.call("GET", `/work/${f.id}`, { token: t.tokens.admin });
          if (kept.status !== 200) leaks.push(`${kase} removed the work (${kept.status})`);
        }
      }
      expect(answers).toEqual(wanted);
      expect(leaks, "a caller saw, counted or removed what it may not read").toEqual([]);
    });
  }
});
