/** Named settings from the environment, then files in a secrets directory. */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import { SettingError } from "./errors.js";

/** Where settings come from: the environment first, then files in a secrets directory. */
export interface SettingsOptions {
  /** @defaultValue process.env */
  env?: Record<string, string | undefined>;
  /** Files named after variables (lower or upper case). @defaultValue "/run/secrets" */
  secretsDir?: string;
}

export const DEFAULT_SECRETS_DIR = "/run/secrets";

/** How a yes or no is written, in a setting or a query parameter, whatever its case. */
const YES_OR_NO: Readonly<Record<string, boolean>> = {
  true: true,
  "1": true,
  false: false,
  "0": false,
};

/** A yes or no as written (`True`, `0`, ...), or undefined when it is neither. */
export const yesOrNo = (raw: string): boolean | undefined => YES_OR_NO[raw.toLowerCase()];

export interface Setting {
  name: string;
  raw: string;
  /** How to name the value in an error: the variable with its value, or the secret's file alone. */
  source: string;
}

/** Reads named settings from the environment, falling back to the secrets directory. */
export class Settings {
  readonly #env: Record<string, string | undefined>;
  readonly #secrets: Map<string, string>;

  constructor(options: SettingsOptions = {}) {
    this.#env = options.env ?? process.env;
    this.#secrets = listSecrets(options.secretsDir ?? DEFAULT_SECRETS_DIR);
  }

  get(name: string): Setting | undefined {
    const fromEnv = this.#env[name];
    if (fromEnv !== undefined && fromEnv !== "") {
      return { name, raw: fromEnv, source: `${name}=${fromEnv}` };
    }
    const file = this.#secrets.get(name.toLowerCase());
    if (file === undefined) return undefined;
    // A secret's value never goes into an error message; its file does.
    return {
      name,
      raw: readFileSync(file, "utf8").trim(),
      source: `${name} (secret file ${file})`,
    };
  }

  /** The first of `names` that is set. */
  first(names: readonly string[]): Setting | undefined {
    for (const name of names) {
      const found = this.get(name);
      if (found) return found;
    }
    return undefined;
  }
}

function listSecrets(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return files; // no secrets directory is the normal case off a container
  }
  for (const name of names) {
    const key = name.toLowerCase();
    // An exact lower-case name wins over its upper-case twin.
    if (!files.has(key) || name === key) files.set(key, join(dir, name));
  }
  return files;
}

export type SettingKind = "string" | "number" | "boolean" | "json";

/** Turns a raw setting into the kind its field expects: numbers, booleans, JSON lists and objects. */
export function coerce(setting: Setting, kind: SettingKind): unknown {
  const raw = setting.raw.trim();
  switch (kind) {
    case "number": {
      const value = Number(raw);
      if (raw === "" || Number.isNaN(value)) {
        throw new SettingError(setting.source, "must be a number");
      }
      return value;
    }
    case "boolean": {
      const value = yesOrNo(raw);
      if (value === undefined)
        throw new SettingError(setting.source, "must be true, false, 1 or 0");
      return value;
    }
    case "json":
      try {
        return JSON.parse(raw);
      } catch {
        throw new SettingError(setting.source, `must be JSON, e.g. '["a","b"]' or '{"k":1}'`);
      }
    default:
      return setting.raw;
  }
}

/** The kind of value a zod field holds, looking through optional, default and preprocess wrappers. */
export function kindOf(schema: z.core.$ZodType): SettingKind {
  let current: z.core.$ZodType = schema;
  for (;;) {
    const def = current._zod.def as z.core.$ZodTypeDef & {
      innerType?: z.core.$ZodType;
      out?: z.core.$ZodType;
    };
    if (def.innerType) current = def.innerType;
    else if (def.type === "pipe" && def.out) current = def.out;
    else break;
  }
  switch (current._zod.def.type) {
    case "number":
    case "int":
      return "number";
    case "boolean":
      return "boolean";
    case "array":
    case "object":
    case "record":
      return "json";
    default:
      return "string";
  }
}
