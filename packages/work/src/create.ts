/** createWork: a work built from layered settings, flags and prefixed fields. */

import type { z } from "zod";
import { formatIssues, InvalidWorkError, SettingError } from "./errors.js";
import { checkResultsSize } from "./results.js";
import {
  ArchiveSchema,
  ConfigSchema,
  SlackSchema,
  type Work,
  WorkFieldsSchema,
  type WorkInput,
  WorkSchema,
} from "./schema.js";
import { coerce, kindOf, Settings, type SettingsOptions } from "./settings.js";
import type { Workspace } from "./workspace.js";

export interface CreateWorkOptions extends SettingsOptions {
  /** Checks `site` (strict strategy) and archive methods; supplies notify.slack defaults. */
  workspace?: Workspace;
  /** Called with each warning, such as dropped oversize results. @defaultValue process.emitWarning */
  onWarning?: (message: string) => void;
}

type Plain = Record<string, unknown>;

/** The fields each prefix may set. Fields the service owns (id, status, attempt...) are not among them. */
const SECTIONS: { prefix: string; path: string[]; shape: Record<string, z.core.$ZodType> }[] = [
  {
    prefix: "WORKFLOW_",
    path: [],
    shape: pick(WorkFieldsSchema.shape, [
      "pipeline",
      "site",
      "user",
      "function",
      "parameters",
      "command",
      "products",
      "plots",
      "tags",
      "event",
      "timeout",
      "retries",
      "priority",
    ]),
  },
  {
    prefix: "WORKFLOW_CONFIG_",
    path: ["config"],
    shape: pick(ConfigSchema.out.shape, ["parent", "orgs", "teams", "strategy"]),
  },
  {
    prefix: "WORKFLOW_CONFIG_ARCHIVE_",
    path: ["config", "archive"],
    shape: pick(ArchiveSchema.out.shape, ["results", "products", "plots"]),
  },
  {
    prefix: "WORKFLOW_NOTIFY_SLACK_",
    path: ["notify", "slack"],
    shape: pick(SlackSchema.out.shape, [
      "channel_id",
      "member_ids",
      "message",
      "results",
      "products",
      "plots",
      "blocks",
    ]),
  },
];

/** Objects of the model that merge key by key across layers; every other value is replaced whole. */
const MERGED = new Set(["", "config", "config.archive", "notify", "notify.slack"]);

/**
 * Builds a valid work. Precedence, highest first: `input`, environment variables, files in the
 * secrets directory, workspace defaults, the schema's defaults.
 */
export function createWork(
  input: WorkInput,
  options: CreateWorkOptions = {},
): { work: Work; warnings: string[] } {
  const fromSettings = settingsLayer(new Settings(options));
  const fromWorkspace: Plain = options.workspace?.notify?.slack
    ? { notify: { slack: options.workspace.notify.slack } }
    : {};
  const merged = merge(merge(fromWorkspace, fromSettings), input as Plain);

  const warnings: string[] = [];
  const size = checkResultsSize(merged.results);
  if (!size.ok) {
    delete merged.results;
    warnings.push(`results dropped: ${size.message}`);
  }

  const parsed = WorkSchema.safeParse(merged);
  if (!parsed.success)
    throw new InvalidWorkError(formatIssues(parsed.error.issues), parsed.error.issues);
  const work = parsed.data;
  if (options.workspace) checkAgainstWorkspace(work, options.workspace);

  const warn =
    options.onWarning ?? ((message: string) => process.emitWarning(message, "WorkflowWarning"));
  for (const message of warnings) warn(message);
  return { work, warnings };
}

function checkAgainstWorkspace(work: Work, workspace: Workspace): void {
  if (work.config.strategy === "strict" && !workspace.sites.includes(work.site)) {
    throw new InvalidWorkError(
      `site "${work.site}" is not in workspace ${workspace.workspace}; allowed sites: ${workspace.sites.join(", ")}`,
    );
  }
  for (const kind of ["products", "plots"] as const) {
    const allowed = workspace.config?.archive?.[kind]?.methods;
    const method = work.config.archive[kind];
    if (allowed && !allowed.includes(method)) {
      throw new InvalidWorkError(
        `config.archive.${kind}: "${method}" is not allowed by workspace ${workspace.workspace}; allowed: ${allowed.join(", ")}`,
      );
    }
  }
}

/** Every prefixed setting that is present, coerced and checked against its own field. */
function settingsLayer(settings: Settings): Plain {
  const layer: Plain = {};
  for (const { prefix, path, shape } of SECTIONS) {
    for (const [field, schema] of Object.entries(shape)) {
      const setting = settings.get(prefix + field.toUpperCase());
      if (!setting) continue;
      const value = coerce(setting, kindOf(schema));
      const checked = (schema as z.ZodType).safeParse(value);
      if (!checked.success) throw new SettingError(setting.source, describe(field, checked.error));
      setPath(layer, [...path, field], value);
    }
  }
  return layer;
}

/** "priority must be between 1 and 5" as it stands; other messages get the field in front. */
function describe(field: string, error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = [field, ...issue.path.map(String)].join(".");
      return issue.path.length === 0 && issue.message.startsWith(field)
        ? issue.message
        : `${path}: ${issue.message}`;
    })
    .join("; ");
}

function merge(base: Plain, over: Plain, at = ""): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined || value === null) continue; // null means absent (CHIME's client)
    const path = at ? `${at}.${key}` : key;
    const current = out[key];
    out[key] =
      MERGED.has(path) && isPlain(value) && isPlain(current) ? merge(current, value, path) : value;
  }
  return out;
}

function setPath(target: Plain, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isPlain(node[key])) node[key] = {};
    node = node[key] as Plain;
  }
  node[path[path.length - 1] as string] = value;
}

function isPlain(value: unknown): value is Plain {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pick<T extends Record<string, z.core.$ZodType>>(shape: T, keys: (keyof T & string)[]) {
  return Object.fromEntries(keys.map((k) => [k, shape[k]])) as Record<string, z.core.$ZodType>;
}
