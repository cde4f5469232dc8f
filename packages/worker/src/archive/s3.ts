/** Archiving to S3. */

import { createReadStream } from "node:fs";
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { Settings, type SettingsOptions } from "@workflow/work";
import type { Placement } from "./placement.js";

/** Seconds to open a connection to S3, and for one request to answer. */
const CONNECT_SECONDS = 10;
const REQUEST_SECONDS = 300;

/** The usual AWS variables, each also read from a file of that name in /run/secrets. */
const CREDENTIALS = {
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
  sessionToken: "AWS_SESSION_TOKEN",
} as const;

export interface S3Target {
  endpoint: string;
  bucket: string;
  /** Key prefix: the archive's subpath and the work's folder. */
  prefix: string;
  region?: string;
}

const clients = new Map<string, S3Client>();

/**
 * One client per endpoint and region, kept for the worker's life so connections are reused.
 * Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN), in the
 * environment or /run/secrets; without them, the SDK's own chain (profiles, instance roles).
 * They are handed to the SDK only: never logged, never in an error.
 */
function clientFor(target: S3Target, settings: SettingsOptions): S3Client {
  const read = new Settings(settings);
  const region =
    target.region ?? read.first(["AWS_REGION", "AWS_DEFAULT_REGION"])?.raw ?? "us-east-1";
  const key = `${target.endpoint} ${region}`;
  const known = clients.get(key);
  if (known) return known;
  const accessKeyId = read.get(CREDENTIALS.accessKeyId)?.raw;
  const secretAccessKey = read.get(CREDENTIALS.secretAccessKey)?.raw;
  const sessionToken = read.get(CREDENTIALS.sessionToken)?.raw;
  const client = new S3Client({
    endpoint: target.endpoint,
    region,
    // Path-style addressing works with every S3-compatible server (MinIO, Ceph, s3rver).
    forcePathStyle: true,
    requestHandler: {
      connectionTimeout: CONNECT_SECONDS * 1000,
      requestTimeout: REQUEST_SECONDS * 1000,
    },
    ...(accessKeyId && secretAccessKey
      ? {
          credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) },
        }
      : {}),
  });
  clients.set(key, client);
  return client;
}

/** Uploads files (a directory file by file) under the target's prefix; answers `s3://bucket/key`. */
export function s3Placement(target: S3Target, settings: SettingsOptions = {}): Placement {
  const client = clientFor(target, settings);
  const upload = async (file: string, key: string) => {
    const body = createReadStream(file);
    try {
      await new Upload({ client, params: { Bucket: target.bucket, Key: key, Body: body } }).done();
    } finally {
      body.destroy();
    }
  };
  return {
    async put(source, name, remove) {
      const key = `${target.prefix}/${name}`;
      if ((await stat(source)).isDirectory()) {
        for (const file of await filesUnder(source))
          await upload(join(source, file), `${key}/${file}`);
      } else {
        await upload(source, key);
      }
      if (remove) await rm(source, { recursive: true, force: true });
      return `s3://${target.bucket}/${key}`;
    },
  };
}

/** Regular files under a directory, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}
