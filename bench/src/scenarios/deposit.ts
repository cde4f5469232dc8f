import { ObjectId } from "mongodb";
import { concurrently, type Harness, queuedDoc } from "../harness.js";
import { log, median, round } from "../stats.js";

const BATCH = 1_000;
const CLIENTS = 4;

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

/** Works/s for `n` works in batches of 1,000, `clients` batches in flight at once. */
async function rate(n: number, clients: number, send: (at: number) => Promise<unknown>) {
  let next = 0;
  const started = performance.now();
  await concurrently(clients, async () => {
    const at = next;
    next += BATCH;
    if (at >= n) return false;
    await send(at);
    return true;
  });
  return n / ((performance.now() - started) / 1000);
}

/**
 * The service against bare `insertMany` of the same batches with the service's write concern
 * (journaled: an acknowledged deposit survives a crash of mongod), one client and 4 at once.
 */
export async function depositScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 10_000 : 50_000;
  const bare = h.db.collection("bare-deposit");
  const ours = (clients: number) => () =>
    rate(n, clients, (at) =>
      h.http(
        "POST",
        "/work",
        Array.from({ length: BATCH }, (_, i) => work(at + i)),
      ),
    );
  const baseline = (clients: number) => () =>
    rate(n, clients, (at) =>
      bare.insertMany(
        Array.from({ length: BATCH }, (_, i) => queuedDoc(at + i, "deposit")),
        { writeConcern: { journal: true } },
      ),
    );
  const indexes = (await h.works.listIndexes().toArray()).filter((ix) => ix.name !== "_id_");
  await bare.createIndexes(
    indexes.map(({ key, name, partialFilterExpression }) => ({
      key,
      name,
      ...(partialFilterExpression ? { partialFilterExpression } : {}),
    })),
  );
  await ours(1)();
  await baseline(1)(); // warm-up
  const figures: Record<string, { ours: number; baseline: number; ratio: number; unit: string }> =
    {};
  for (const clients of [1, CLIENTS]) {
    // Alternated, so that a slow spell of the machine weighs on both sides.
    const o: number[] = [];
    const b: number[] = [];
    for (let run = 0; run < runs; run++) {
      o.push(await ours(clients)());
      b.push(await baseline(clients)());
      await h.works.deleteMany({ pipeline: "deposit" });
      await bare.deleteMany({});
    }
    const [mo, mb] = [median(o), median(b)];
    log(`deposit (${clients} at once): service ${round(mo)}/s, bare journaled ${round(mb)}/s`);
    figures[clients === 1 ? "deposit" : "deposit4"] = {
      ours: round(mo),
      baseline: round(mb),
      ratio: round(mo / mb),
      unit: "works/s",
    };
  }
  return figures;
}
