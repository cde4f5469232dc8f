/**
 * A replica set in a process of its own, for replset.test.ts. Under Wine, a start of a set by
 * mongodb-memory-server now and then never ends, and no timer of the process it runs in ends it
 * either; a process can always be killed. So the test runs the set here, bounds every step from
 * outside, and kills this process's group (its mongods with it) when a step runs late.
 *
 * Usage: node replset-host.mjs MEMBERS LAUNCH_MS FIRST_PORT DATABASE
 * Prints one JSON line per event on stdout: {step, ms} as the start goes, then
 * {ready, uri (of DATABASE), members}; {lost} when a member exits by itself; {failed} when the start failed.
 * Stops the set and exits when its standard input closes or on SIGTERM.
 */

import { MongoMemoryReplSet } from "mongodb-memory-server";

const [members, launchTimeout, firstPort] = process.argv.slice(2, 5).map(Number);
const database = process.argv[5];
const began = Date.now();
const say = (event) => process.stdout.write(`${JSON.stringify(event)}\n`);
const step = (name) => say({ step: name, ms: Date.now() - began });

// mongodb-memory-server runs a system binary with spawnSync to read its version; the version is
// known (MONGOMS_VERSION), and under Wine that run can hang.
process.env.MONGOMS_SYSTEM_BINARY_VERSION_CHECK = "false";

const set = new MongoMemoryReplSet({
  replSet: { count: members },
  instanceOpts: Array.from({ length: members }, (_, i) => ({ port: firstPort + i, launchTimeout })),
});
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await set.stop().catch(() => undefined);
  process.exit(code);
}
process.on("SIGTERM", () => void stop(0));
process.stdin.on("end", () => void stop(0));
process.stdin.resume();

try {
  step("starting members");
  await set.start();
  step("members started");
  await set.waitUntilRunning();
  step("primary elected");
  for (const server of set.servers) {
    const port = server.instanceInfo?.port;
    server.instanceInfo?.instance.mongodProcess?.once("exit", (code, signal) => {
      if (!stopping) say({ lost: `the member on port ${port} exited with ${code ?? signal}` });
    });
  }
  say({
    ready: true,
    uri: set.getUri(database),
    members: set.servers.map((server) => server.getUri()),
  });
} catch (error) {
  say({ failed: error instanceof Error ? error.message : String(error) });
  await stop(1);
}
