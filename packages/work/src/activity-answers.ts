/**
 * The answers of the queue's read-outs: /status, /status/pipelines, /status/details, the audits
 * and the dashboard's /activity. One zod schema each, which the OpenAPI document is generated
 * from, the client and the dashboard take their types from, and the tests check the service's
 * answers against (strict: a field the service starts sending is added here first).
 */

import { z } from "zod";
import { STATUSES } from "./statuses.js";

const COUNTED = ["total", ...STATUSES] as const;

/** GET /status (and /status/details?all=true): works by status, and their total. */
export const StatusCountsSchema = z.record(z.enum(COUNTED), z.int());
export type StatusCounts = z.output<typeof StatusCountsSchema>;

/** GET /status/details/:pipeline: without ?all=true, exactly CHIME's CLI's columns. */
export const PipelineDetailsSchema = z.partialRecord(z.enum(COUNTED), z.int());
export type PipelineDetails = z.output<typeof PipelineDetailsSchema>;

/** GET /status/pipelines: the pipelines' names. */
export const PipelineNamesSchema = z.array(z.string());

/** GET /audit/stale/:days: how old (in days) an unfinished work is stale. */
export const AuditDaysSchema = z.coerce
  .number({ error: "days must be a number, e.g. /audit/stale/7" })
  .min(0)
  .max(36_500);

/** What each audit moved with ?details=true: the total and its parts. */
export const AuditDetailsSchema = z.union([
  z.strictObject({ total: z.int(), requeued: z.int() }),
  z.strictObject({ total: z.int(), retrying: z.int(), final: z.int() }),
  z.strictObject({ total: z.int(), failed: z.int() }),
]);
export type AuditDetails = z.output<typeof AuditDetailsSchema>;
/** An audit's plain answer: how many works it moved (CHIME's audit daemon reads a number). */
export const AuditCountSchema = z.int();
export type AuditCount = z.output<typeof AuditCountSchema>;
/** An audit's answer: the number, or with ?details=true its parts. */
export const AuditAnswerSchema = z.union([AuditCountSchema, AuditDetailsSchema]);
export type AuditAnswer = z.output<typeof AuditAnswerSchema>;

/** One row of GET /activity/counts: a pipeline's works by status. */
export const PipelineCountsSchema = z.strictObject({
  pipeline: z.string(),
  counts: StatusCountsSchema,
});
export type PipelineCounts = z.output<typeof PipelineCountsSchema>;

/** GET /activity/minutes: works that ended per minute of the last hour, oldest first. */
export const ActivityMinutesSchema = z.strictObject({
  /** Each minute's start (unix seconds); the last is the current minute. */
  minutes: z.array(z.int()),
  success: z.array(z.int()),
  failure: z.array(z.int()),
});
export type ActivityMinutes = z.output<typeof ActivityMinutesSchema>;

/** How a worker was last heard from: a poll for work or an attempt's heartbeat. */
export const CONTACT_VIAS = ["poll", "heartbeat"] as const;
export type ContactVia = (typeof CONTACT_VIAS)[number];

/** One row of GET /activity/workers. */
export const WorkerSeenSchema = z.strictObject({
  worker: z.string(),
  /** Works it runs now. */
  running: z.int(),
  /** When it was last heard of, by contact or by an attempt's start or stop (unix seconds). */
  lastSeen: z.number(),
  /** The user of the token it contacted the service with. */
  user: z.string().optional(),
  /** Its last contact (unix seconds), a poll for work or an attempt's heartbeat. */
  lastContact: z.number().optional(),
  contact: z.enum(CONTACT_VIAS).optional(),
  /** What it serves (the pipelines its polls name), and those of the attempts seen. */
  pipelines: z.array(z.string()),
});
export type WorkerSeen = z.output<typeof WorkerSeenSchema>;
