import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../src/index.js";

describe("the error registry", () => {
  it("documents every code with its status in the package README", () => {
    const readme = readFileSync(join(import.meta.dirname, "..", "README.md"), "utf8");
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      if (code === "internal") continue; // never an answer to bad input; not part of the contract
      expect(readme, `README lacks ${status} \`${code}\``).toContain(`${status} \`${code}\``);
    }
  });
});
