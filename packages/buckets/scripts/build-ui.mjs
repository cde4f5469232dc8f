// Builds the dashboard into dist/ui: the bundle (preact + htm + uPlot, no CDN), its page and styles.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const out = join(root, "dist", "ui");
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(root, "ui/src/main.ts"), docs: join(root, "ui/src/docs.ts") },
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  sourcemap: "linked",
  legalComments: "linked",
  logLevel: "warning",
});
const uplot = dirname(createRequire(import.meta.url).resolve("uplot"));
copyFileSync(join(uplot, "uPlot.min.css"), join(out, "uPlot.min.css"));
for (const file of ["index.html", "docs.html", "app.css"]) {
  copyFileSync(join(root, "ui", file), join(out, file));
}
