import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { canonicalJson, parentDigest, planRun, workKey } from "../src/index.js";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("a work's key", () => {
  // Pinned: keys stored by one version of the project must match the next one's (README).
  it("is the documented digest, whatever version of the project computes it", () => {
    const work = { function: "fit.run", parameters: { b: [1, 2], a: "x" }, site: "chime" };
    expect(workKey(work)).toBe(
      "k1:2c06dbbc9b904db643c714a725a0308e44264b4e993a462a81ea474c18c8ce11",
    );
    expect(workKey(work)).toBe(
      `k1:${sha256('{"parameters":{"a":"x","b":[1,2]},"parents":[],"run":{"function":"fit.run"},"site":null,"v":1,"version":null}')}`,
    );
    expect(
      workKey(
        {
          command: ["python", "fit.py"],
          site: "chime",
          version: "abc123",
          cache: { site: true },
        },
        ["d1", "d2"],
      ),
    ).toBe("k1:f299a36c9b606940561e23ab209da192fd38c496243f519d029695dbdd3ff648");
    expect(parentDigest("cal", [{ key: "k1:aa", digests: { "/d/x": "00".repeat(32) } }])).toBe(
      "581d1cc59b4672a01c3291c06789c9aa12b7d63d6fd86344c9d0da7bb632eb6b",
    );
  });

  it("changes with what is computed, and with nothing else", () => {
    const base = { function: "fit.run", parameters: { snr: 9 }, site: "chime" };
    const key = workKey(base);
    expect(workKey({ ...base, site: "kko" })).toBe(key);
    expect(workKey({ ...base, site: "kko", cache: { site: true } })).not.toBe(key);
    expect(workKey({ ...base, parameters: { snr: 10 } })).not.toBe(key);
    expect(workKey({ ...base, version: "v2" })).not.toBe(key);
    expect(workKey(base, [parentDigest("cal", [{ key: "k1:a" }])])).not.toBe(key);
  });

  it("has a parent's data in it: new bytes under the same path are a new digest", () => {
    const parent = (digest: string) =>
      parentDigest("cal", [{ key: "k1:a", digests: { "/x": digest } }]);
    expect(parent("a".repeat(64))).not.toBe(parent("b".repeat(64)));
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"e":3,"f":2}]},"b":1}',
    );
  });
});

describe("canonical JSON", () => {
  // Pinned from the first definition (entries filtered, sorted and mapped): keys stored under it
  // must keep matching, whatever code writes the text.
  it("sorts keys by UTF-16 order, drops undefined members, writes an undefined item as null and leaves a hole empty", () => {
    const sparse: number[] = [];
    sparse[0] = 1;
    sparse[2] = 3;
    const value = {
      é: 1,
      B: [sparse, undefined, null],
      a: { u: undefined, 'z"q': -0, "\u2028": "😀" },
      "10": 2,
      "2": 3,
    };
    expect(canonicalJson(value)).toBe(
      '{"10":2,"2":3,"B":[[1,,3],null,null],"a":{"z\\"q":0,"\u2028":"😀"},"é":1}',
    );
  });

  it("leaves a key's site out when cache.site asks for a site the work does not name", () => {
    expect(workKey({ site: "s" })).toBe(
      "k1:fb3a245ff788f0c3cbc728ded95624f765d21e9774a004c0b3739607a623786b",
    );
    expect(workKey({ site: undefined as unknown as string, cache: { site: true } })).toBe(
      "k1:5d1993d35e5edc41992074091188990b786d9a6b63b471b06dcd55e54f393aa8",
    );
  });
});

describe("cache and version in a pipeline config", () => {
  const config = (extra: Record<string, unknown>, step: Record<string, unknown> = {}) => ({
    version: "2",
    name: "p",
    defaults: { user: "u", site: "s" },
    params: { code: "abc" },
    ...extra,
    pipeline: { steps: [{ name: "a", ...step, work: { command: ["true"] } }] },
  });
  const work = (plan: ReturnType<typeof planRun>) => plan.steps[0]?.works[0]?.work;

  it("the config's cache reaches every work; a step's own wins, false included", () => {
    expect(work(planRun(config({ cache: { ttl: "30d" } })))?.cache).toEqual({ ttl: 2_592_000 });
    expect(work(planRun(config({ cache: true }, { cache: false })))?.cache).toBeUndefined();
    expect(work(planRun(config({}, { cache: true })))?.cache).toEqual({});
  });

  it("a step's version may come from the params", () => {
    const planned = planRun(config({}, { version: "${{ params.code }}" }), { code: "def" });
    expect(work(planned)?.version).toBe("def");
  });

  it("a bad cache is refused with what it may be", () => {
    expect(() => planRun(config({ cache: "always" }))).toThrow(
      'cache must be true, false or { ttl: "30d", site: true }',
    );
  });
});
