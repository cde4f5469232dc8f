/**
 * Archiving an attempt's files once it ends, its errors kept on the work. Where each goes is
 * destination.ts.
 */

import { rm, stat } from "node:fs/promises";
import { basename, resolve, sep } from "node:path";
import type { SettingsOptions, Workspace } from "@workflow/work";
import type { Logger } from "../logger.js";
import type { Outcome } from "../runner/outcome.js";
import { type ArchiveKind, destinationFor, workFolder } from "./destination.js";
import { digestsOf, withDigests } from "./digests.js";
import type { Placement } from "./placement.js";
import { posixPlacement } from "./posix.js";
import { s3Placement } from "./s3.js";

/** The most archive errors kept on a work, and the longest each may be. */
export const MAX_ARCHIVE_ERRORS = 20;
const MAX_ERROR_LENGTH = 500;

const KINDS: readonly ArchiveKind[] = ["products", "plots"];
/** `https://...`, `s3://...`: already somewhere else, so left as they are. */
const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

export interface ArchiveContext {
  /** Without one, or without `config.archive.<kind>` in it, that kind is left where it is. */
  workspace: Workspace | undefined;
  /** Relative paths resolve from here (the worker's directory). */
  cwd: string;
  logger: Logger;
  /** Where S3 credentials are read from. @defaultValue process.env and /run/secrets */
  settings?: SettingsOptions;
}

export interface ArchivedWork {
  id: string;
  pipeline: string;
  site: string;
  creation: number;
  config?: { archive?: { products?: string; plots?: string } };
}

/**
 * Archives an attempt's products and plots as the work's `config.archive` asks, within what the
 * workspace allows, and rewrites their paths to where they went (`delete` drops them). Never
 * throws: whatever fails is logged and listed in `archive.errors`, and the file stays where it was.
 */
export async function archiveOutcome(
  work: ArchivedWork,
  outcome: Outcome,
  context: ArchiveContext,
): Promise<Outcome> {
  const digests = await digestsOf(outcome, context.cwd).catch(() => ({}));
  try {
    return withDigests(await archiveAll(work, outcome, context), digests);
  } catch (error) {
    // A bug here must not cost the work its outcome.
    context.logger.error({ err: error }, "archiving failed; the work goes on");
    return withDigests(
      { ...outcome, archive: { errors: [`archiving failed: ${describe(error)}`] } },
      digests,
    );
  }
}

async function archiveAll(
  work: ArchivedWork,
  outcome: Outcome,
  context: ArchiveContext,
): Promise<Outcome> {
  const errors: string[] = [];
  const fail = (kind: ArchiveKind, message: string, path?: string) => {
    const text = `${kind}: ${path ? `${path}: ` : ""}${message}`.slice(0, MAX_ERROR_LENGTH);
    context.logger.warn({ kind, path, error: message }, "archiving failed; the work goes on");
    if (errors.length < MAX_ARCHIVE_ERRORS) errors.push(text);
  };
  const archived: Outcome = { ...outcome };
  // Products and plots share the work's folder: one name may be used once.
  const names = new Set<string>();
  let ran = false;
  for (const kind of KINDS) {
    const paths = outcome[kind];
    const allowed = context.workspace?.config?.archive?.[kind]?.methods;
    if (!paths?.length || !context.workspace || !allowed) continue;
    ran = true;
    const method = work.config?.archive?.[kind] ?? "copy";
    if (!(allowed as string[]).includes(method)) {
      fail(
        kind,
        `config.archive.${kind} is "${method}", which the workspace does not allow (allowed: ${allowed.join(", ")}); left where they are`,
      );
      continue;
    }
    if (method === "bypass") continue;
    let placement: Placement | undefined;
    if (method !== "delete") {
      const destination = destinationFor(context.workspace, work.site, kind, workFolder(work));
      if (typeof destination === "string") {
        fail(kind, `${destination}; left where they are`);
        continue;
      }
      placement =
        destination.storage === "posix"
          ? posixPlacement(resolve(context.cwd, destination.dir))
          : s3Placement(destination, context.settings);
    }
    const kept: string[] = [];
    for (const path of paths) {
      const went = await archiveOne(path, method, placement, names, context.cwd).catch(
        (error: unknown) => {
          fail(kind, describe(error), path);
          return path;
        },
      );
      if (went !== null) kept.push(went);
    }
    archived[kind] = kept;
  }
  // An empty list too: it clears the errors an earlier attempt left on the work.
  return ran ? { ...archived, archive: { errors } } : archived;
}

/** Where one path went: its new path, the same path (a URL), or null once deleted. */
async function archiveOne(
  path: string,
  method: string,
  placement: Placement | undefined,
  names: Set<string>,
  cwd: string,
): Promise<string | null> {
  if (URL_LIKE.test(path)) return path;
  const source = resolve(cwd, path);
  const name = basename(source);
  // "/", "." or an ancestor of the worker's directory is never a product to move or delete.
  if (!name || source === cwd || cwd.startsWith(source + sep))
    throw new Error("not a product's path: it is the worker's directory or one of its parents");
  await stat(source); // a missing file fails here, with ENOENT
  if (method === "delete") {
    await rm(source, { recursive: true, force: true });
    return null;
  }
  if (names.has(name))
    throw new Error(`another product or plot of this work is already archived as "${name}"`);
  names.add(name);
  return (placement as Placement).put(source, name, method === "move");
}

function describe(error: unknown): string {
  const err = error as NodeJS.ErrnoException & { Code?: string };
  if (err?.code === "ENOENT") return "no such file";
  if (err?.code === "EACCES" || err?.code === "EPERM")
    return `permission denied (${err.path ?? ""})`;
  if (error instanceof Error)
    return error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}
