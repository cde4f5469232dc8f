#!/usr/bin/env node
// Committed rather than built: npm links bins when it installs, before `npm run build` makes
// dist/, and a bin missing then is never linked (npx would fetch an unrelated public package).
import { existsSync } from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write("workflow: not built yet; run `npm run build` in the repository first\n");
  process.exit(1);
}
await import(cli.href);
