/** A client from the shared flags, the environment and the workspace. */

import { existsSync } from "node:fs";
import {
  BucketsClient,
  loadWorkspace,
  type RetryOptions,
  type Workspace,
  workspacePath,
} from "@workflow/work";

export interface ConnectionFlags {
  url?: string[];
  token?: string;
  workspace?: string;
}

/** The workspace named by --workspace or WORKFLOW_WORKSPACE (which must exist), else the default if present. */
export function workspaceFrom(flags: ConnectionFlags): Workspace | undefined {
  const named = flags.workspace ?? process.env.WORKFLOW_WORKSPACE;
  if (named) return loadWorkspace(named);
  const path = workspacePath();
  return existsSync(path) ? loadWorkspace(path) : undefined;
}

/**
 * A client from the shared flags: --url, --token, --workspace, then the environment. `retry`
 * replaces the client's own quiet retries, for a command that tells its user about them.
 */
export function clientFrom(
  flags: ConnectionFlags,
  workerId?: string,
  retry?: RetryOptions,
): BucketsClient {
  const workspace = workspaceFrom(flags);
  const client = new BucketsClient({
    ...(flags.url?.length ? { baseUrls: flags.url } : {}),
    ...(flags.token ? { token: flags.token } : {}),
    ...(workspace ? { workspace } : {}),
    ...(workerId ? { workerId } : {}),
    ...(retry ? { retry } : {}),
  });
  if (!client.settings.token) throw new Error("no token: set WORKFLOW_TOKEN or pass --token");
  return client;
}
