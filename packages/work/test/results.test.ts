import { describe, expect, it } from "vitest";
import { createWork, RESULTS_MAX_BYTES, resultsSize } from "../src/index.js";

const base = { pipeline: "fit", site: "local", user: "alice" };
/** `{"x":"<n characters>"}` is n + 8 bytes of JSON. */
const ofBytes = (bytes: number, char = "a") => ({
  x: char.repeat((bytes - 8) / Buffer.byteLength(char)),
});

describe("the 4 MB results cap", () => {
  it("is 4,000,000 bytes of UTF-8 JSON", () => {
    expect(RESULTS_MAX_BYTES).toBe(4_000_000);
    expect(resultsSize(ofBytes(100))).toBe(100);
    expect(resultsSize(ofBytes(100, "é"))).toBe(100);
  });

  it("keeps results of exactly 4,000,000 bytes", () => {
    const results = ofBytes(RESULTS_MAX_BYTES);
    expect(resultsSize(results)).toBe(RESULTS_MAX_BYTES);
    const { work, warnings } = createWork({ ...base, results }, { env: {} });
    expect(work.results).toEqual(results);
    expect(warnings).toEqual([]);
  });

  it("drops results of 4,000,001 bytes with a warning, and keeps the rest of the work", () => {
    const results = { x: `${"a".repeat(RESULTS_MAX_BYTES - 8)}b` };
    expect(resultsSize(results)).toBe(RESULTS_MAX_BYTES + 1);
    const heard: string[] = [];
    const { work, warnings } = createWork(
      { ...base, results, priority: 5 },
      { env: {}, onWarning: (m) => heard.push(m) },
    );
    expect(work.results).toBeUndefined();
    expect(work.priority).toBe(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /results dropped: results are 4000001 bytes, over the 4000000-byte cap/,
    );
    expect(heard).toEqual(warnings);
  });

  it("counts multi-byte characters as bytes: 2,000,000 'é' is over the cap", () => {
    const results = { x: "é".repeat(2_000_000) };
    expect(JSON.stringify(results).length).toBeLessThan(RESULTS_MAX_BYTES);
    expect(resultsSize(results)).toBe(4_000_008);
    const { work, warnings } = createWork({ ...base, results }, { env: {}, onWarning: () => {} });
    expect(work.results).toBeUndefined();
    expect(warnings[0]).toContain("4000008 bytes");
  });
});
