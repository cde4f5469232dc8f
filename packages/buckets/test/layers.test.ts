import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The arrows point down: routes -> service -> store -> MongoDB, and the dashboard is built from its
 * own sources and the shared packages alone. An import against them is named here with its file.
 */

const root = join(import.meta.dirname, "..");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.tsx?$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every module a source text imports or re-exports, statically or dynamically. */
function importsIn(text: string): string[] {
  const found: string[] = [];
  for (const pattern of [
    /^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ]) {
    for (const match of text.matchAll(pattern)) found.push(match[1] as string);
  }
  return found;
}

const importsOf = (file: string) => importsIn(readFileSync(file, "utf8"));

const offences = (files: string[], bad: (file: string, spec: string) => boolean) =>
  files.flatMap((file) =>
    importsOf(file)
      .filter((spec) => bad(file, spec))
      .map((spec) => `${relative(root, file)} imports ${spec}`),
  );

describe("imports point down", () => {
  it("nothing above the store imports MongoDB's driver", () => {
    const src = join(root, "src");
    const above = sources(src).filter((f) => !f.startsWith(`${join(src, "store")}/`));
    expect(above.some((f) => f.includes(`${join("src", "service")}/`))).toBe(true);
    expect(above.some((f) => f.includes(`${join("src", "routes")}/`))).toBe(true);
    const driver = (_: string, spec: string) => spec === "mongodb" || spec.startsWith("mongodb/");
    expect(offences(above, driver)).toEqual([]);
  });

  it("the dashboard imports nothing of the service's sources", () => {
    const ui = join(root, "ui", "src");
    const files = sources(ui);
    expect(files.length).toBeGreaterThan(0);
    const outside = (file: string, spec: string) =>
      spec.startsWith(".") && relative(ui, resolve(dirname(file), spec)).startsWith("..");
    expect(offences(files, outside)).toEqual([]);
  });

  it("the check sees every way of writing an import", () => {
    // A check that reads no import would pass whatever the code does.
    const text = [
      'import { ObjectId } from "mongodb";',
      "import {",
      "  type Collection,",
      "  MongoServerError,",
      '} from "mongodb/lib/x";',
      'export type { Db } from "mongodb";',
      'import "../../src/side-effect.js";',
      'const later = await import("../../../src/machine.js");',
    ].join("\n");
    expect(importsIn(text).sort()).toEqual(
      [
        "mongodb",
        "mongodb/lib/x",
        "mongodb",
        "../../src/side-effect.js",
        "../../../src/machine.js",
      ].sort(),
    );
  });
});
