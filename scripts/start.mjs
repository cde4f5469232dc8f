// `npm start`: build, then run the service in this process (arguments go to `buckets serve`).
// npm forwards SIGTERM and SIGINT to the one process it started. The service must be that process,
// not the child of a shell that dies on the signal and leaves the service and its mongod orphaned.
import { spawn } from "node:child_process";

const forwarded = ["SIGINT", "SIGTERM"];

const build = spawn("turbo", ["run", "build", "--output-logs=errors-only"], {
  stdio: "inherit",
  shell: process.platform === "win32",
});
const forward = (signal) => build.kill(signal);
for (const signal of forwarded) process.on(signal, forward);
const [code, signal] = await new Promise((resolve) =>
  build.once("exit", (...outcome) => resolve(outcome)),
);
for (const name of forwarded) process.off(name, forward);
if (signal) process.exit(1);
if (code !== 0) process.exit(code ?? 1);

process.argv.splice(2, 0, "serve");
await import("../packages/buckets/dist/cli.js");
