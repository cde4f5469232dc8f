import { describe, expect, it } from "vitest";
import { createWork, InvalidWorkError, toPayload, WorkSchema } from "../src/index.js";

const base = { pipeline: "fit", site: "local", user: "alice" };
/** No environment, no secrets: only the input and the schema. */
const build = (input: Record<string, unknown>) =>
  createWork({ ...base, ...input }, { env: {}, secretsDir: "/nonexistent" });
const refused = (input: Record<string, unknown>) => {
  try {
    build(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidWorkError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(input)}`);
};

describe("defaults", () => {
  it("fills every default", () => {
    const before = Date.now() / 1000;
    const { work, warnings } = build({});
    expect(warnings).toEqual([]);
    expect(work).toMatchObject({
      attempt: 0,
      status: "created",
      timeout: 3600,
      retries: 2,
      priority: 3,
      config: { archive: { results: true, products: "copy", plots: "copy" }, strategy: "strict" },
      notify: { slack: {} },
    });
    expect(work.creation).toBeGreaterThanOrEqual(before);
    expect(work.creation).toBeLessThanOrEqual(Date.now() / 1000);
    expect(Number.isInteger(work.creation)).toBe(false);
    for (const absent of [
      "function",
      "command",
      "parameters",
      "results",
      "tags",
      "event",
      "id",
      "start",
      "stop",
    ]) {
      expect(work).not.toHaveProperty(absent);
    }
  });
});

describe("bounds, at both edges", () => {
  it.each([
    ["priority", 0, false],
    ["priority", 1, true],
    ["priority", 5, true],
    ["priority", 6, false],
    ["timeout", 0, false],
    ["timeout", 1, true],
    ["timeout", 259_200, true],
    ["timeout", 259_201, false],
    ["retries", -1, false],
    ["retries", 0, true],
    ["retries", 5, true],
    ["retries", 6, false],
  ])("%s = %i accepted: %s", (field, value, ok) => {
    if (ok) expect(build({ [field]: value }).work[field as "priority"]).toBe(value);
    else expect(refused({ [field]: value })).toMatch(new RegExp(`${field} must be between`));
  });

  it("takes a pipeline of 128 characters and refuses 129", () => {
    expect(build({ pipeline: "a".repeat(128) }).work.pipeline).toHaveLength(128);
    expect(refused({ pipeline: "a".repeat(129) })).toMatch(
      /pipeline must be 1 to 128 letters, digits or '-'/,
    );
  });

  it.each(["fit_spectra", "fit spectra", "", "fit/x"])("refuses the pipeline %j", (pipeline) => {
    expect(refused({ pipeline })).toMatch(/pipeline/);
  });

  it("refuses a non-integer priority and a priority given as a word", () => {
    expect(refused({ priority: 2.5 })).toMatch(/priority must be an integer/);
    expect(refused({ priority: "high" })).toMatch(/priority/);
  });
});

describe("rules across fields", () => {
  it("refuses function and command together, naming both", () => {
    const message = refused({ function: "./jobs/fit.js#fit", command: ["fit"] });
    expect(message).toContain("function");
    expect(message).toContain("command");
  });

  it("accepts either alone, and neither (a worker may supply one)", () => {
    expect(build({ function: "./jobs/fit.js#fit" }).work.function).toBe("./jobs/fit.js#fit");
    expect(build({ command: ["fit", "--x"] }).work.command).toEqual(["fit", "--x"]);
    expect(build({}).work.command).toBeUndefined();
  });

  it("takes any function name a worker may run, Node's or Python's, up to 1,024 characters", () => {
    expect(build({ function: "pkg.module.func" }).work.function).toBe("pkg.module.func");
    expect(build({ function: "x".repeat(1024) }).work.function).toHaveLength(1024);
    expect(refused({ function: "x".repeat(1025) })).toMatch(/at most 1024/);
    expect(refused({ function: "" })).toMatch(/function must not be empty/);
  });

  it("refuses a NUL byte in a function or a command item: no process could start", () => {
    expect(refused({ function: "fit\0" })).toMatch(/NUL/);
    expect(refused({ command: ["echo", "a\0b"] })).toMatch(/NUL/);
  });
});

describe("notify.slack", () => {
  it("refuses an unknown key such as channel, and takes channel_id", () => {
    expect(refused({ notify: { slack: { channel: "C1" } } })).toMatch(/channel/);
    expect(build({ notify: { slack: { channel_id: "C1" } } }).work.notify.slack.channel_id).toBe(
      "C1",
    );
  });
});

describe("CHIME's payloads", () => {
  it("reads null as absent, everywhere", () => {
    const { work } = build({
      priority: null,
      timeout: null,
      tags: null,
      config: { archive: { results: null }, parent: null },
      notify: { slack: { channel_id: null } },
    });
    expect(work.priority).toBe(3);
    expect(work.timeout).toBe(3600);
    expect(work.config.archive.results).toBe(true);
    expect(work.notify.slack).toEqual({});
  });

  it("takes config.archive.logs and config.metrics", () => {
    const { work } = build({ config: { archive: { logs: "move" }, metrics: true } });
    expect(work.config).toMatchObject({ archive: { logs: "move" }, metrics: true });
  });
});

describe("data stays data", () => {
  it.each([{ $where: "1" }, { a: { $gt: 1 } }, { "a.b": 1 }])(
    "refuses the key in parameters %j",
    (parameters) => {
      expect(refused({ parameters })).toMatch(
        /is not allowed: keys may not start with "\$" or contain "\."/,
      );
    },
  );

  it("refuses the same in results, and nesting past 32 levels", () => {
    expect(refused({ results: { ok: [{ $set: 1 }] } })).toMatch(/results\.ok\.0\.\$set/);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    expect(refused({ parameters: { deep } })).toMatch(/nested deeper than 32/);
  });

  it("refuses unknown top-level fields, $-keys included", () => {
    expect(refused({ $set: { status: "success" } })).toMatch(/\$set/);
    expect(refused({ colour: "red" })).toMatch(/colour/);
  });
});

describe("toPayload", () => {
  it("is plain JSON without config.strategy or undefined fields", () => {
    const { work } = build({ tags: ["a"], parameters: { x: 1 } });
    const payload = toPayload(work);
    expect(payload.config).not.toHaveProperty("strategy");
    expect(JSON.parse(JSON.stringify(payload))).toEqual(payload);
    expect(Object.values(payload).includes(undefined as never)).toBe(false);
    // What goes to the service passes the service's schema as it is.
    expect(WorkSchema.safeParse(payload).success).toBe(true);
  });
});
