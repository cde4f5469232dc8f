import { describe, expect, it } from "vitest";
import { QUIET_REAPER, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

let serial = 0;
const fresh = (base: string) => `${base}-${++serial}`;

const config = (name: string, params: Record<string, unknown>) => ({
  version: "2",
  name,
  defaults: { site: "local" },
  params,
  pipeline: {
    steps: [
      {
        name: "fit",
        work: {
          command: ["true"],
          parameters: Object.fromEntries(
            Object.keys(params).map((k) => [k, `\${{ params.${k} }}`]),
          ),
        },
      },
    ],
  },
});
const TYPED = {
  n: { type: "int", default: 3, required: false, choices: [1, 3, 5], description: "folds" },
  rate: { type: "float", default: 0.5 },
  label: { type: "str", default: "x" },
  flag: { type: "bool", default: false },
  sizes: { type: "list", default: [1, 2] },
  since: { type: "datetime", default: "2027-01-01T09:00:00Z" },
  plain: 7,
};
const start = (body: unknown) => t.call("POST", "/runs", { token: t.tokens.alice, body });
const message = (body: unknown) => (body as { error: { message: string } }).error.message;

async function parametersOf(run: string) {
  const works = await t.call("POST", "/view", {
    token: t.tokens.alice,
    body: { query: { "config.parent": run } },
  });
  return (works.body as { parameters: Record<string, unknown> }[])[0]?.parameters;
}

describe("typed params", () => {
  it("fills defaults with their types, and the shorthand as it is", async () => {
    const answer = await start({ config: config(fresh("typed"), TYPED) });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await parametersOf((answer.body as { id: string }).id)).toEqual({
      n: 3,
      rate: 0.5,
      label: "x",
      flag: false,
      sizes: [1, 2],
      since: "2027-01-01T09:00:00Z",
      plain: 7,
    });
  });

  it("takes given values as their type: texts a command line sends are read", async () => {
    const answer = await start({
      config: config(fresh("given"), TYPED),
      params: { n: "5", rate: 2, label: 12, flag: "true", plain: "seven" },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await parametersOf((answer.body as { id: string }).id)).toMatchObject({
      n: 5,
      rate: 2,
      label: "12",
      flag: true,
      plain: "seven",
    });
  });

  it.each([
    [
      "a bool that is not one",
      { flag: "banana" },
      /params\.flag: value "banana" is not a bool: pass true or false/,
    ],
    ["an int with a fraction", { n: 1.5 }, /params\.n: value 1.5 is not an int/],
    [
      "a value outside the choices",
      { n: 4 },
      /params\.n: value 4 is not one of its choices: 1, 3, 5/,
    ],
    ["a list that is a text", { sizes: "1,2" }, /params\.sizes: value "1,2" is not a list/],
    [
      "a datetime that is not one",
      { since: "next tuesday" },
      /params\.since: value "next tuesday" is not a datetime/,
    ],
  ])("refuses %s, naming the param, storing nothing", async (_what, params, expected) => {
    const name = fresh("bad-given");
    const answer = await start({ config: config(name, TYPED), params });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(expected);
    const runs = await t.call("GET", `/runs?name=${name}`, { token: t.tokens.alice });
    expect(runs.body).toEqual([]);
  });

  it.each([
    [
      "a required param not given",
      { k: { type: "int" } },
      /params\.k: required \(int\); pass it when the run starts \(--param k=\.\.\.\)/,
    ],
    [
      "an unknown type",
      { k: { type: "integer", default: 1 } },
      /params\.k: .*type must be one of int, float, str, bool, list, datetime/,
    ],
    [
      "a default of the wrong type",
      { k: { type: "bool", default: "yes" } },
      /params\.k: default "yes" is not a bool/,
    ],
    [
      "a choice of the wrong type",
      { k: { type: "int", default: 1, choices: [1, "two"] } },
      /params\.k\.choices\[1\]: "two" is not an int/,
    ],
  ])("refuses a config with %s", async (_what, params, expected) => {
    const answer = await start({ config: config(fresh("bad-spec"), params) });
    expect(answer.status).toBe(400);
    expect(message(answer.body)).toMatch(expected);
  });

  it("keeps a mapping default that merely has a type key", async () => {
    const answer = await start({
      config: config(fresh("mapping"), { model: { type: "cnn", layers: 3 } }),
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    expect(await parametersOf((answer.body as { id: string }).id)).toEqual({
      model: { type: "cnn", layers: 3 },
    });
  });
});
