import { ObjectId } from "mongodb";
import { type Harness, queuedDoc } from "../harness.js";
import { log, medianOf, round } from "../stats.js";

const BATCH = 1_000;

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

export async function depositScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 10_000 : 50_000;
  const ours = async () => {
    const started = performance.now();
    for (let at = 0; at < n; at += BATCH)
      await h.http(
        "POST",
        "/work",
        Array.from({ length: BATCH }, (_, i) => work(at + i)),
      );
    return n / ((performance.now() - started) / 1000);
  };
  const baseline = async () => {
    const collection = h.db.collection("bare-deposit");
    const started = performance.now();
    for (let at = 0; at < n; at += BATCH)
      await collection.insertMany(
        Array.from({ length: BATCH }, (_, i) => queuedDoc(at + i, "deposit")),
      );
    return n / ((performance.now() - started) / 1000);
  };
  const indexes = (await h.works.listIndexes().toArray()).filter((ix) => ix.name !== "_id_");
  await h.db
    .collection("bare-deposit")
    .createIndexes(indexes.map(({ key, name }) => ({ key, name })));
  await ours();
  await baseline(); // warm-up
  const o = await medianOf(runs, ours);
  const b = await medianOf(runs, baseline);
  log(`deposit: service ${round(o)}/s, bare ${round(b)}/s`);
  await h.works.deleteMany({ pipeline: "deposit" });
  return { deposit: { ours: round(o), baseline: round(b), ratio: round(o / b), unit: "works/s" } };
}
