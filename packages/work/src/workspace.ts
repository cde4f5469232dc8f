import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { WorkspaceError } from "./errors.js";
import { ArchiveMethodSchema, SlackSchema } from "./schema.js";

const UrlListSchema = z
  .union([z.url(), z.array(z.url()).min(1)])
  .transform((urls) => (Array.isArray(urls) ? urls : [urls]));

const MethodsSchema = z.object({ methods: z.array(ArchiveMethodSchema).min(1) });

/** The workspace file: which sites exist, where the service is, and defaults for works. */
export const WorkspaceSchema = z.object({
  workspace: z.string().min(1),
  sites: z.array(z.string().min(1)).min(1),
  http: z
    .object({
      baseurls: z.object({ buckets: UrlListSchema.optional() }).optional(),
      /** Seconds for each HTTP call. @defaultValue 15 */
      timeout: z.number().positive().optional(),
    })
    .optional(),
  archive: z.object({ posix: z.record(z.string(), z.string()).optional() }).optional(),
  config: z
    .object({
      archive: z
        .object({ products: MethodsSchema.optional(), plots: MethodsSchema.optional() })
        .optional(),
    })
    .optional(),
  notify: z.object({ slack: SlackSchema.optional() }).optional(),
});
export type Workspace = z.output<typeof WorkspaceSchema>;

export const DEFAULT_WORKSPACE_PATH = join(homedir(), ".config", "workflow", "workspace.yml");

/** The workspace file's path: the argument, then WORKFLOW_WORKSPACE, then the default. */
export function workspacePath(
  path?: string,
  env: Record<string, string | undefined> = process.env,
): string {
  return path || env.WORKFLOW_WORKSPACE || DEFAULT_WORKSPACE_PATH;
}

/** Reads and validates a workspace file; every failure names the file and, when it can, the key. */
export function loadWorkspace(
  path?: string,
  options: { env?: Record<string, string | undefined> } = {},
): Workspace {
  const file = workspacePath(path, options.env);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    throw new WorkspaceError(
      file,
      missing
        ? "not found: create it (see workspace.example.yml) or point WORKFLOW_WORKSPACE at one"
        : `cannot be read: ${(error as Error).message}`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new WorkspaceError(file, `not valid YAML: ${(error as Error).message}`);
  }
  const parsed = WorkspaceSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.map(String).join(".") || undefined;
    throw new WorkspaceError(file, issue?.message ?? "invalid", key);
  }
  return parsed.data;
}
