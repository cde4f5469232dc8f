/**
 * Scenario: deposit throughput through the service against bare driver inserts of the same works.
 */

import { BucketsClient, DEPOSITS_IN_FLIGHT } from "@workflow/work";
import { ObjectId } from "mongodb";
import { metered } from "../busy.js";
import { concurrently, type Harness, queuedDoc, workIndexes } from "../harness.js";
import { log, medianRun, type Run, round } from "../stats.js";

const BATCH = 1_000;
const CLIENTS = 4;
/**
 * Pairs per comparison: 5 where the other scenarios take 3 runs. The deposit ratios swing the
 * most from run to run on a shared 2-core machine (see bench/README.md), and a median of more
 * pairs is steadier on either side of the target without leaning towards it.
 */
const PAIRS = 5;

/** With its own id, as BucketsClient sends every work: a retried request is then recognised. */
const work = (i: number) => ({
  id: new ObjectId().toHexString(),
  pipeline: "deposit",
  site: "local",
  user: "bench",
  command: ["true"],
  creation: 1_000_000 + i,
  priority: (i % 5) + 1,
});

/** Works/s for `n` works in batches of 1,000, `inFlight` batches at once. */
async function rate(n: number, inFlight: number, send: (at: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await concurrently(inFlight, async () => {
    const at = next;
    next += BATCH;
    if (at >= n) return false;
    await send(at);
    return true;
  });
  return n / ((performance.now() - started) / 1000);
}

type Busy = Run["busy"];
type Figure = {
  ours: number;
  baseline: number;
  ratio: number;
  unit: string;
  runs: number;
  /** How busy each process was in each side's median run (CPU seconds per second). */
  busy: { ours: Busy; baseline: Busy };
};

/**
 * Each side `runs` times, alternated so that a slow spell of the machine weighs on both, and taking
 * turns to go first, so that neither side always meets mongod just after the last pair's
 * deletes.
 */
async function compare(
  h: Harness,
  runs: number,
  ours: () => Promise<number>,
  baseline: () => Promise<number>,
  clear: () => Promise<unknown>,
): Promise<Figure> {
  const o: Run[] = [];
  const b: Run[] = [];
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      o.push(await metered(h, ours));
      b.push(await metered(h, baseline));
    } else {
      b.push(await metered(h, baseline));
      o.push(await metered(h, ours));
    }
    await h.works.deleteMany({ pipeline: "deposit" });
    await clear();
  }
  const [mo, mb] = [medianRun(o), medianRun(b)];
  return {
    ours: round(mo.rate),
    baseline: round(mb.rate),
    ratio: round(mo.rate / mb.rate),
    unit: "works/s",
    runs,
    busy: { ours: mo.busy, baseline: mb.busy },
  };
}

/**
 * The service against bare `insertMany` of the same batches with the service's write concern
 * (journaled: an acknowledged deposit survives a crash of mongod), with the same requests in
 * flight on both sides:
 * - `deposit`: one client as a user deposits many works, `BucketsClient.depositMany` (batches of
 *   1,000, DEPOSITS_IN_FLIGHT at once, as `workflow deposit` sends them), against a bare inserter
 *   with as many batches in flight;
 * - `depositSerial`: one request at a time on both sides (the service's HTTP client in the bench,
 *   as a client that waits for each deposit before the next would); no target;
 * - `deposit4`: 4 clients at once, one request each, against 4 bare inserters.
 */
export async function depositScenario(h: Harness, quick: boolean) {
  const n = quick ? 10_000 : 50_000;
  const bare = h.db.collection("bare-deposit");
  const client = new BucketsClient({ baseUrls: h.url, token: h.token, timeout: 120 });
  const many = async () => {
    const works = Array.from({ length: n }, (_, i) => work(i));
    const started = performance.now();
    await client.depositMany(works);
    return n / ((performance.now() - started) / 1000);
  };
  const ours = (clients: number) => () =>
    rate(n, clients, (at) =>
      h.http(
        "POST",
        "/work",
        Array.from({ length: BATCH }, (_, i) => work(at + i)),
      ),
    );
  const baseline = (inFlight: number) => () =>
    rate(n, inFlight, (at) =>
      bare.insertMany(
        Array.from({ length: BATCH }, (_, i) => queuedDoc(at + i, "deposit")),
        { writeConcern: { journal: true } },
      ),
    );
  await bare.createIndexes(await workIndexes(h));
  const clear = () => bare.deleteMany({});
  // Warm-up.
  await many();
  await ours(1)();
  await baseline(1)();
  await h.works.deleteMany({ pipeline: "deposit" });
  await clear();
  const deposit = await compare(h, PAIRS, many, baseline(DEPOSITS_IN_FLIGHT), clear);
  log(
    `deposit (one client, ${DEPOSITS_IN_FLIGHT} batches in flight): service ${deposit.ours}/s, bare journaled ${deposit.baseline}/s, busy ${JSON.stringify(deposit.busy)}`,
  );
  const depositSerial = await compare(h, PAIRS, ours(1), baseline(1), clear);
  log(
    `deposit (one request at a time): service ${depositSerial.ours}/s, bare journaled ${depositSerial.baseline}/s`,
  );
  const deposit4 = await compare(h, PAIRS, ours(CLIENTS), baseline(CLIENTS), clear);
  log(
    `deposit (${CLIENTS} clients at once): service ${deposit4.ours}/s, bare journaled ${deposit4.baseline}/s`,
  );
  return { deposit, depositSerial, deposit4 };
}
