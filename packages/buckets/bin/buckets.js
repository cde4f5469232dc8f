#!/usr/bin/env -S node --max-semi-space-size=32
// The flag: a deposit's works stay alive while MongoDB writes them to its journal, and with V8's
// default young generation (16 MB semi-spaces) they outlive two collections and are promoted,
// which made garbage collection the largest single cost of the service's CPU in a deposit.
// The Dockerfile and `npm start` pass the same flags (test/deploy.test.ts checks it).
// Committed rather than built: npm links bins when it installs, before `npm run build` makes
// dist/, and a bin missing then is never linked (npx would fetch an unrelated public package).
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("buckets: not built yet; run `npm run build` in the repository first\n");
  process.exit(1);
}
await import(cli.href);
