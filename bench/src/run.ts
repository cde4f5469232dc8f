/**
 * `npm run bench [-- --quick]`: measures the service against bare MongoDB and Agenda on the same
 * mongod, in one run, and prints one JSON object (also written to bench/results/latest.json).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { ROOT, startHarness } from "./harness.js";
import { depositScenario } from "./scenarios/deposit.js";
import { endToEndScenario } from "./scenarios/endtoend.js";
import { depthScenario, dispatchScenario } from "./scenarios/latency.js";
import { pipelinesScenario } from "./scenarios/pipelines.js";
import { withdrawScenario } from "./scenarios/withdraw.js";
import { log } from "./stats.js";

const TARGETS = {
  withdrawRatio: ">= 0.8",
  batchWithdraw: ">= 3x the bare single-claim loop",
  depositRatio: ">= 0.7",
  endToEnd: ">= 2x Agenda",
  depthRatio: "<= 1.5",
  dispatchP50: "<= 50 ms",
};

const version = (pkg: string) =>
  (
    JSON.parse(readFileSync(join(ROOT, "node_modules", pkg, "package.json"), "utf8")) as {
      version: string;
    }
  ).version;

const quick = process.argv.includes("--quick");
/** `--only deposit` runs one scenario (withdraw, deposit, endToEnd, depth, dispatch). */
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;
const runs = 3;
const started = Date.now();
const h = await startHarness();
try {
  log(`started mongod and the service at ${h.url}${quick ? " (quick)" : ""}`);
  const all = {
    withdraw: () => withdrawScenario(h, quick, runs),
    deposit: () => depositScenario(h, quick, runs),
    endToEnd: () => endToEndScenario(h, quick, runs),
    depth: () => depthScenario(h, quick),
    dispatch: () => dispatchScenario(h, quick),
    pipelines: () => pipelinesScenario(h, quick, runs),
  };
  let scenarios = {};
  for (const [name, measure] of Object.entries(all)) {
    if (!only || only === name) scenarios = { ...scenarios, ...(await measure()) };
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
    targets: TARGETS,
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
