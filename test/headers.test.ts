import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..");

/** Where the source lives: every package's src, the dashboard's and the bench's. */
const SOURCE_DIRS = [
  ...readdirSync(join(ROOT, "packages")).map((name) => join("packages", name, "src")),
  join("packages", "buckets", "ui", "src"),
  join("bench", "src"),
];

function sourceFiles(): string[] {
  return SOURCE_DIRS.flatMap((dir) => {
    const entries = (() => {
      try {
        return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" });
      } catch {
        return [];
      }
    })();
    return entries.filter((path) => path.endsWith(".ts")).map((path) => join(dir, path));
  });
}

/**
 * The file's opening comment, if it opens with one that belongs to the module: a `/** ... *\/`
 * block (or `//` lines) before anything else but a shebang, followed by a blank line or an import.
 * A comment glued to the first declaration documents that declaration, not the module.
 */
function openingComment(text: string): string | undefined {
  const lines = text.split("\n");
  let i = lines[0]?.startsWith("#!") ? 1 : 0;
  const start = i;
  if (lines[i]?.startsWith("/**")) {
    while (i < lines.length && !lines[i]?.includes("*/")) i++;
  } else if (lines[i]?.startsWith("//")) {
    while (lines[i + 1]?.startsWith("//")) i++;
  } else {
    return undefined;
  }
  const after = lines[i + 1] ?? "";
  if (after.trim() !== "" && !after.startsWith("import ")) return undefined;
  return lines
    .slice(start, i + 1)
    .join(" ")
    .replace(/^\s*\/\*\*|\*\/\s*$|^\s*\*|\/\/|\s\*\s/g, " ")
    .trim();
}

describe("source files", () => {
  const files = sourceFiles();

  it("finds the source of every package", () => {
    for (const dir of SOURCE_DIRS.slice(-2)) {
      expect(files.some((file) => file.startsWith(dir))).toBe(true);
    }
    expect(files).toContain(join("packages", "work", "src", "index.ts"));
  });

  it("each open with a comment saying what the module owns (issue #30)", () => {
    const missing = files.filter((file) => {
      const comment = openingComment(readFileSync(join(ROOT, file), "utf8"));
      return comment === undefined || comment.split(/\s+/).length < 3;
    });
    expect(
      missing.map((file) => relative(ROOT, join(ROOT, file))),
      "start each of these with a /** ... */ line or two saying what the module owns, then a blank line",
    ).toEqual([]);
  });

  it("tells a module's comment from a declaration's", () => {
    expect(openingComment("/** The store: the only door to MongoDB. */\n\nimport x;\n")).toBe(
      "The store: the only door to MongoDB.",
    );
    expect(openingComment("#!/usr/bin/env node\n/**\n * The CLI.\n */\nimport x;\n")).toBe(
      "The CLI.",
    );
    expect(openingComment("/** A limit. */\nexport const LIMIT = 3;\n")).toBeUndefined();
    expect(openingComment('import x from "x";\n/** Later. */\n')).toBeUndefined();
  });
});
