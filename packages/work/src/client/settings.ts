/**
 * The client's settings (URL, token, timeout) from flags, environment and secrets; secrets kept
 * from children.
 */

import { SettingError } from "../errors.js";
import { Settings, type SettingsOptions } from "../settings.js";
import type { Workspace } from "../workspace.js";

/** The token chain: the first of these that is set wins. */
export const TOKEN_VARIABLES = [
  "WORKFLOW_HTTP_TOKEN",
  "WORKFLOW_TOKEN",
  "GITHUB_TOKEN",
  "GITHUB_PAT",
] as const;

/**
 * Secrets of the worker that the code it runs must never see: every child it starts gets its
 * environment without them (see `childEnv`).
 */
export const SECRET_VARIABLES = [
  ...TOKEN_VARIABLES,
  "WORKFLOW_NOTIFY_SLACK_TOKEN",
  "SLACK_BOT_TOKEN",
] as const;

/** The environment for a child the worker starts: its own, less SECRET_VARIABLES. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy = { ...env };
  for (const name of SECRET_VARIABLES) delete copy[name];
  return copy;
}

/** @defaultValue 15 */
export const DEFAULT_TIMEOUT_SECONDS = 15;

export interface ClientSettings {
  baseUrls: string[];
  token: string | undefined;
  /** Seconds for each call. */
  timeout: number;
}

export interface ClientSettingsInput extends SettingsOptions {
  /** One URL or several tried in order. Else WORKFLOW_HTTP_BASEURLS (comma-separated), else the workspace's. */
  baseUrls?: string | string[] | undefined;
  /** Else the first of TOKEN_VARIABLES in the environment or the secrets directory. */
  token?: string | undefined;
  /** Seconds. Else WORKFLOW_HTTP_TIMEOUT, else the workspace's http.timeout, else 15. */
  timeout?: number | undefined;
  workspace?: Workspace | undefined;
}

/** Resolves the client's settings once: explicit values, then environment, secrets, workspace. */
export function resolveClientSettings(input: ClientSettingsInput = {}): ClientSettings {
  const settings = new Settings(input);
  const urls =
    input.baseUrls ??
    settings.get("WORKFLOW_HTTP_BASEURLS")?.raw.split(",") ??
    input.workspace?.http?.baseurls?.buckets ??
    [];
  const baseUrls = (Array.isArray(urls) ? urls : [urls])
    .map((u) => u.trim().replace(/\/+$/, ""))
    .filter(Boolean);
  let timeout = input.timeout;
  if (timeout === undefined) {
    const fromEnv = settings.get("WORKFLOW_HTTP_TIMEOUT");
    if (fromEnv) {
      timeout = Number(fromEnv.raw);
      if (!(timeout > 0))
        throw new SettingError(fromEnv.source, "must be a number of seconds above 0");
    }
  }
  return {
    baseUrls,
    token: input.token ?? settings.first(TOKEN_VARIABLES)?.raw.trim(),
    timeout: timeout ?? input.workspace?.http?.timeout ?? DEFAULT_TIMEOUT_SECONDS,
  };
}
