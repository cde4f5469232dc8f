/** Where each kind of a work's files goes under the workspace's archive. */

import type { Workspace } from "@workflow/work";

export type ArchiveKind = "products" | "plots";

/** Where one kind of a work's files goes, with the work's own folder already in it. */
export type Destination =
  | { storage: "posix"; dir: string }
  | { storage: "s3"; endpoint: string; bucket: string; prefix: string; region?: string };

/** `<YYYYMMDD>/<pipeline>/<id>`: the work's folder under an archive's base, dated by its creation (UTC). */
export function workFolder(work: { creation: number; pipeline: string; id: string }): string {
  const day = new Date(work.creation * 1000).toISOString().slice(0, 10).replaceAll("-", "");
  return `${day}/${work.pipeline}/${work.id}`;
}

/**
 * The destination the workspace gives a site for products or plots: `config.archive.<kind>.storage`
 * when set, else the site's `archive.posix` base, else its `archive.s3` bucket. An error (a string
 * saying what to add) when there is none.
 */
export function destinationFor(
  workspace: Workspace,
  site: string,
  kind: ArchiveKind,
  folder: string,
): Destination | string {
  const storage = workspace.config?.archive?.[kind]?.storage;
  const base = workspace.archive?.posix?.[site];
  const s3 = workspace.archive?.s3?.[site];
  if ((storage ?? (base !== undefined ? "posix" : "s3")) === "posix") {
    if (!base)
      return `the workspace has no archive.posix.${site}: add the site's base path, or set config.archive.${kind} to bypass`;
    return { storage: "posix", dir: `${base.replace(/\/+$/, "")}/${folder}` };
  }
  if (!s3)
    return `the workspace has no archive.s3.${site}: add {url, bucket, subpath}, or set config.archive.${kind} to bypass`;
  // With `bucket`, the url is the endpoint; without, its first path segment is the bucket.
  const url = new URL(s3.url);
  const segments = s3.bucket ? [] : url.pathname.split("/").filter(Boolean);
  const bucket = s3.bucket ?? segments.shift();
  if (!bucket)
    return `archive.s3.${site} names no bucket: add bucket, or end its url with /<bucket>`;
  const endpoint = s3.bucket ? s3.url.replace(/\/+$/, "") : url.origin;
  const prefix = [...segments, ...(s3.subpath ?? "").split("/"), folder].filter(Boolean).join("/");
  const region = /^s3[.-]([a-z0-9-]+)\.amazonaws\.com$/.exec(url.hostname)?.[1];
  return {
    storage: "s3",
    endpoint,
    bucket,
    prefix,
    ...(region && region !== "external-1" ? { region } : {}),
  };
}
