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
const runs = 3;
const started = Date.now();
const h = await startHarness();
try {
  log(`started mongod and the service at ${h.url}${quick ? " (quick)" : ""}`);
  const scenarios = {
    ...(await withdrawScenario(h, quick, runs)),
    ...(await depositScenario(h, quick, runs)),
    ...(await endToEndScenario(h, quick, runs)),
    ...(await depthScenario(h, quick)),
    ...(await dispatchScenario(h, quick)),
  };
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
  writeFileSync(join(ROOT, "bench/results/latest.json"), `${text}\n`);
  process.stdout.write(`${text}\n`);
} finally {
  await h.stop();
}
// Agenda and the HTTP agent may keep handles open; the measurements are written, so leave.
process.exit(0);
