/**
 * The service's settings, read once from the environment (BUCKETS_*) and checked; defaults defined
 * here.
 */

import { MAX_LEASE_SECONDS, Settings } from "@workflow/work";
import { z } from "zod";
import { checkAllowEntry } from "./service/runs/callback-target.js";

const seconds = (fallback: number, max: number) =>
  z.coerce.number().positive().max(max).default(fallback);

/** SSE log followers held at once on one instance, and with one token's subject. */
export const DEFAULT_MAX_LOG_FOLLOWERS = 500;
export const DEFAULT_MAX_LOG_FOLLOWERS_PER_TOKEN = 20;

/** Long-poll withdraws held at once (BUCKETS_MAX_WAITERS). */
export const DEFAULT_MAX_WAITERS = 10_000;

/** The most one /view answer may hold, in MB of JSON (BUCKETS_VIEW_MAX_MB). */
export const DEFAULT_VIEW_MAX_MB = 64;
export const BYTES_PER_MB = 1024 * 1024;

/** Distinct filters one token's subject may hold waiting for work at once. */
export const DEFAULT_MAX_WAIT_FILTERS_PER_TOKEN = 100;

/** The service's settings, read once from the environment. Each is documented in the README. */
export const ServiceOptionsSchema = z.object({
  /** @defaultValue 8004 */
  PORT: z.coerce.number().int().min(0).max(65535).default(8004),
  /** Listen address. @defaultValue "0.0.0.0" */
  HOST: z.string().default("0.0.0.0"),
  /** A MongoDB URI; without it an embedded mongod keeps its data in BUCKETS_DATA_DIR. */
  MONGODB_URI: z.string().min(1).optional(),
  /** @defaultValue "./.buckets-data" */
  BUCKETS_DATA_DIR: z.string().min(1).default("./.buckets-data"),
  /** The database when MONGODB_URI names none. @defaultValue "buckets" */
  BUCKETS_DB: z.string().min(1).default("buckets"),
  /** A workspace file: deposits to a site outside its `sites` are refused. */
  BUCKETS_WORKSPACE: z.string().min(1).optional(),
  /** HS256 secret. */
  BUCKETS_JWT_SECRET: z.string().min(16, { error: "must be at least 16 characters" }).optional(),
  /** RS256/ES256 public key (PEM) to verify tokens. */
  BUCKETS_JWT_PUBLIC_KEY: z.string().min(1).optional(),
  /** RS256/ES256 private key (PEM), only to mint tokens with `buckets token`. */
  BUCKETS_JWT_PRIVATE_KEY: z.string().min(1).optional(),
  /** A directory of more keys that verify tokens (rotation): PEM public keys or HS256 secrets. */
  BUCKETS_JWT_KEYS_DIR: z.string().min(1).optional(),
  /** Serve /metrics without a token. @defaultValue false */
  BUCKETS_METRICS_PUBLIC: z.stringbool().default(false),
  /** Long-poll withdraws held at once; past this a withdraw with `wait` gets 503. @defaultValue 10000 */
  BUCKETS_MAX_WAITERS: z.coerce.number().int().min(1).max(1_000_000).default(DEFAULT_MAX_WAITERS),
  /** Log followers (`GET /work/:id/logs?follow=true`) at once; past this 503. @defaultValue 500 */
  BUCKETS_MAX_LOG_FOLLOWERS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_MAX_LOG_FOLLOWERS),
  /** Log followers at once with one token's subject (`sub`); past this 429. @defaultValue 20 */
  BUCKETS_MAX_LOG_FOLLOWERS_PER_TOKEN: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_MAX_LOG_FOLLOWERS_PER_TOKEN),
  /**
   * Distinct filters one token's subject may hold waiting at once (long-poll withdraws); past this
   * a withdraw with `wait` and yet another filter gets 429. @defaultValue 100
   */
  BUCKETS_MAX_WAIT_FILTERS_PER_TOKEN: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(DEFAULT_MAX_WAIT_FILTERS_PER_TOKEN),
  /** The most one /view answer may hold, in MB of JSON. @defaultValue 64 */
  BUCKETS_VIEW_MAX_MB: z.coerce.number().positive().max(1024).default(DEFAULT_VIEW_MAX_MB),
  /**
   * Days after which finished works (success, final failure, cancelled, skipped) are removed, by
   * a TTL index. Unset: kept for ever. @defaultValue unset
   */
  BUCKETS_RETENTION_DAYS: z.coerce.number().positive().max(36_500).optional(),
  /**
   * Retention leaves successes and final failures whose config.archive.results is true to the
   * transfer (`workflow results transfer`, CHIME's `workflow transfer`), which keeps them in the
   * results store before it deletes them: none is removed before it is in results.
   * @defaultValue false
   */
  BUCKETS_RETENTION_AWAITS_TRANSFER: z.stringbool().default(false),
  /** Signs pipeline runs' callbacks (HMAC-SHA256 in X-Buckets-Signature); unset, they go unsigned. */
  BUCKETS_CALLBACK_SECRET: z
    .string()
    .min(16, { error: "must be at least 16 characters" })
    .optional(),
  /**
   * Hosts, addresses and CIDRs that runs' callbacks may reach although they are loopback,
   * link-local or private (comma- or space-separated: `127.0.0.1,10.1.0.0/16,hooks.internal`).
   * @defaultValue none
   */
  BUCKETS_CALLBACK_ALLOW: z
    .string()
    .default("")
    .transform((raw) => raw.split(/[\s,]+/).filter((entry) => entry !== ""))
    .superRefine((entries, check) => {
      for (const entry of entries) {
        const problem = checkAllowEntry(entry);
        if (problem) check.addIssue({ code: "custom", message: problem });
      }
    }),
  /** Slack bot token that posts pipeline runs' messages (a run's notify.slack); unset, none are posted. */
  BUCKETS_SLACK_TOKEN: z.string().min(1).optional(),
  /** Slack's Web API; tests point it at a local stand-in. @defaultValue "https://slack.com/api/" */
  BUCKETS_SLACK_API_URL: z.url().default("https://slack.com/api/"),
  /** Seconds a claim holds a work without a heartbeat. @defaultValue 60 */
  BUCKETS_LEASE_SECONDS: seconds(60, MAX_LEASE_SECONDS),
  /** Seconds between reaper passes. @defaultValue 5 */
  BUCKETS_REAP_SECONDS: seconds(5, 3600),
  /** Seconds between evaluations of due schedules, on every instance. @defaultValue 5 */
  BUCKETS_SCHEDULE_SECONDS: seconds(5, 3600),
  /** Seconds in-flight requests get to finish on shutdown. @defaultValue 10 */
  BUCKETS_SHUTDOWN_SECONDS: seconds(10, 600),
  /** pino level. @defaultValue "info" */
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type ServiceOptions = z.output<typeof ServiceOptionsSchema>;

/**
 * Reads the options once: each from the environment, else from a file of the same name in the
 * secrets directory (`/run/secrets/buckets_jwt_secret`, as Docker and Kubernetes mount secrets).
 * A bad value names its variable.
 */
export function readOptions(
  env: Record<string, string | undefined> = process.env,
  secretsDir?: string,
): ServiceOptions {
  const settings = new Settings({ env, ...(secretsDir ? { secretsDir } : {}) });
  const found = Object.keys(ServiceOptionsSchema.shape).flatMap((name) => {
    const setting = settings.get(name);
    return setting ? [[name, setting] as const] : [];
  });
  const parsed = ServiceOptionsSchema.safeParse(
    Object.fromEntries(found.map(([name, s]) => [name, s.raw.trim()])),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "");
    const source = found.find(([n]) => n === name)?.[1].source ?? name;
    throw new Error(`${source}: ${issue?.message ?? "invalid"}`);
  }
  return Object.freeze(parsed.data);
}
