/** One Agenda process for the end-to-end baseline: a no-op job at concurrency 8. */
import { MongoBackend } from "@agendajs/mongo-backend";
import { Agenda } from "agenda";

const [address, concurrency] = [process.argv[2] as string, Number(process.argv[3] ?? 8)];
const agenda = new Agenda({
  backend: new MongoBackend({ address, collection: "agendaJobs" }),
  processEvery: 100,
  maxConcurrency: concurrency,
  defaultConcurrency: concurrency,
});
agenda.define("noop", async () => {});
await agenda.start();
process.once("SIGTERM", () => {
  void agenda.stop().finally(() => process.exit(0));
});
