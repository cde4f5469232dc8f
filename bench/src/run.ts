/**
 * `npm run bench [-- --quick]`: measures the service against bare MongoDB and Agenda on the same
 * mongod, in one run, and prints one JSON object (also written to bench/results/latest.json).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT, startHarness } from "./harness.js";
import { abuseScenario } from "./scenarios/abuse.js";
import { cacheScenario } from "./scenarios/cache.js";
import { dashboardScenario } from "./scenarios/dashboard.js";
import { depositScenario } from "./scenarios/deposit.js";
import { endToEndScenario } from "./scenarios/endtoend.js";
import { depthScenario, dispatchScenario } from "./scenarios/latency.js";
import { pipelinesScenario } from "./scenarios/pipelines.js";
import { scaleScenario } from "./scenarios/scale.js";
import { withdrawScenario } from "./scenarios/withdraw.js";
import { log } from "./stats.js";

type Figures = Record<string, Record<string, unknown>>;

/** Each target: what it says, and whether this run's figures meet it. */
const TARGETS: Record<string, { target: string; met: (s: Figures) => boolean | undefined }> = {
  // #31's bars: the service's own claims at least as fast as the bare loop's, batches 5 times.
  withdraw: { target: "ratio >= 1.0", met: (s) => ratio(s.withdraw, (r) => r >= 1.0) },
  batchWithdraw: {
    target: "ratio >= 5 (the bare single-claim loop)",
    met: (s) => ratio(s.batchWithdraw, (r) => r >= 5),
  },
  deposit: {
    target:
      "ratio >= 0.9 (one client's depositMany against journaled insertMany, as many in flight)",
    met: (s) => ratio(s.deposit, (r) => r >= 0.9),
  },
  deposit4: {
    target: "ratio >= 0.9 (4 clients against 4 journaled inserters)",
    met: (s) => ratio(s.deposit4, (r) => r >= 0.9),
  },
  endToEnd: { target: "ratio >= 4 (Agenda)", met: (s) => ratio(s.endToEnd, (r) => r >= 4) },
  endToEndBare: {
    target: "ratio >= 0.5 (bare driver pipeline)",
    met: (s) => ratio(s.endToEndBare, (r) => r >= 0.5),
  },
  endToEndLimit: {
    target: "ratio >= 0.5 (the batched limit: the bare driver's least per work, batched)",
    met: (s) => ratio(s.endToEndLimit, (r) => r >= 0.5),
  },
  depth: { target: "ratio <= 1.5", met: (s) => ratio(s.depth, (r) => r <= 1.5) },
  depthTagged: { target: "ratio <= 1.5", met: (s) => ratio(s.depthTagged, (r) => r <= 1.5) },
  counts: {
    target: "p50 <= 20 ms for /status, /status/details and /metrics at 1,000,000 works",
    met: (s) => {
      const c = s.counts as Record<string, { p50: number }> | undefined;
      if (!c) return undefined;
      return ["status", "details", "metrics"].every((k) => (c[k]?.p50 ?? Infinity) <= 20);
    },
  },
  dashboard: {
    target:
      "p50 < 300 ms for the overview's poll (its three calls at once) and each works page's call at 1,000,000 works",
    met: (s) => {
      const d = s.dashboard as Record<string, { p50: number }> | undefined;
      if (!d) return undefined;
      return ["overview", "worksFirst", "worksAfter", "worksFiltered", "worksParameter"].every(
        (k) => (d[k]?.p50 ?? Infinity) < 300,
      );
    },
  },
  ...Object.fromEntries(
    ["abuseCounts", "abuseLongPolls", "abuseFollowers", "abuseLogReads", "abuseKeys"].map(
      (name) => [
        name,
        {
          target: "ratio <= 2 (an innocent withdraw's p50 under this abuse, against it without)",
          met: (s: Figures) => ratio(s[name], (r) => r <= 2),
        },
      ],
    ),
  ),
  cachedRun: {
    target:
      "ratio >= 1 (a fully cached run is done sooner than the same run executed by no-op workers)",
    met: (s) => {
      const c = s.cachedRun as { ours: number; baseline: number } | undefined;
      return c ? c.baseline / c.ours >= 1 : undefined;
    },
  },
  dispatch: {
    target: "p50 <= 50 ms among 1,000 idle long-polling workers",
    met: (s) => {
      const d = s.dispatch as { ours: { p50: number } } | undefined;
      return d ? d.ours.p50 <= 50 : undefined;
    },
  },
};

/**
 * Checks the ratio of ours to the baseline as measured, not the rounded `ratio` shown: 0.896
 * shows as 0.90 but does not meet 0.9.
 */
function ratio(figure: Record<string, unknown> | undefined, ok: (r: number) => boolean) {
  if (!figure) return undefined;
  const value = (side: unknown) =>
    typeof side === "number" ? side : (side as { p50: number }).p50;
  return ok(value(figure.ours) / value(figure.baseline));
}

const version = (pkg: string) =>
  (
    JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

const quick = process.argv.includes("--quick");
/** `--only deposit` runs one scenario, `--only dashboard,abuse` those in order (withdraw, deposit, endToEnd, depth, dispatch, pipelines, scale, dashboard, abuse, cache). */
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? process.argv[onlyAt + 1]?.split(",") : undefined;
const runs = 3;
const started = Date.now();
const h = await startHarness();
try {
  log(`started mongod and the service at ${h.url}${quick ? " (quick)" : ""}`);
  const all = {
    withdraw: () => withdrawScenario(h, quick, runs),
    deposit: () => depositScenario(h, quick),
    endToEnd: () => endToEndScenario(h, quick, runs),
    depth: () => depthScenario(h, quick),
    dispatch: () => dispatchScenario(h, quick),
    pipelines: () => pipelinesScenario(h, quick, runs),
    scale: () => scaleScenario(h, quick, runs),
    dashboard: () => dashboardScenario(h, quick),
    abuse: () => abuseScenario(h, quick),
    cache: () => cacheScenario(h, quick, runs),
  };
  let scenarios: Figures = {};
  for (const [name, measure] of Object.entries(all)) {
    if (!only || only.includes(name)) scenarios = { ...scenarios, ...(await measure()) };
  }
  const mongodVersion = ((await h.db.admin().command({ buildInfo: 1 })) as { version: string })
    .version;
  const result = {
    date: new Date().toISOString(),
    quick,
    seconds: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    versions: {
      mongod: mongodVersion,
      buckets: version("@workflow/buckets"),
      mongodb: version("mongodb"),
      agenda: version("agenda"),
    },
    runs,
    scenarios,
    targets: Object.fromEntries(
      Object.entries(TARGETS).map(([name, { target, met }]) => [
        name,
        { target, met: met(scenarios) ?? "not measured" },
      ]),
    ),
  };
  const text = JSON.stringify(result, null, 2);
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  // A partial run does not replace the record.
  if (!only) writeFileSync(join(ROOT, "bench/results/latest.json"), `${text}\n`);
  process.stdout.write(`${text}\n`);
} finally {
  await h.stop();
}
// Agenda and the HTTP agent may keep handles open; the measurements are written, so leave.
process.exit(0);
