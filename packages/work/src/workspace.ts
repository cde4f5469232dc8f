/** A workspace file: the service's URL, the sites, and where archived files go. */

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

/** Where archived files go: a posix base path, or an S3 bucket (archive.posix / archive.s3). */
export const ARCHIVE_STORAGES = ["posix", "s3"] as const;

const MethodsSchema = z.object({
  /** The archive methods works may ask for. */
  methods: z.array(ArchiveMethodSchema).min(1),
  /** Which of archive.posix or archive.s3 receives them. @defaultValue the one the site has, posix first */
  storage: z.enum(ARCHIVE_STORAGES).optional(),
});

/**
 * An S3 destination. CHIME's workspaces give only `url` (`https://s3.host/bucket`): without
 * `bucket`, the url's first path segment names it.
 */
export const S3ArchiveSchema = z.object({
  /** The S3 endpoint, e.g. https://s3.us-west-2.amazonaws.com or http://minio:9000. */
  url: z.url(),
  bucket: z.string().min(1).optional(),
  /** A key prefix inside the bucket. @defaultValue "" */
  subpath: z.string().optional(),
});
export type S3Archive = z.output<typeof S3ArchiveSchema>;

/** The workspace file: which sites exist, where the service is, and defaults for works. */
export const WorkspaceSchema = z.object({
  workspace: z.string().min(1),
  sites: z.array(z.string().min(1)).min(1),
  http: z
    .object({
      baseurls: z
        .object({
          buckets: UrlListSchema.optional(),
          /** The results store: http://host:port/results-service on this service. */
          results: UrlListSchema.optional(),
        })
        .optional(),
      /** Seconds for each HTTP call. @defaultValue 15 */
      timeout: z.number().positive().optional(),
    })
    .optional(),
  archive: z
    .object({
      /** Base path of each site's archive. */
      posix: z.record(z.string(), z.string()).optional(),
      /** Each site's S3 archive. */
      s3: z.record(z.string(), S3ArchiveSchema).optional(),
    })
    .optional(),
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
