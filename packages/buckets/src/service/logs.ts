/**
 * An attempt's logs: appended only by its claimer, read and followed by its readers; and a work
 * shown in full.
 */

import {
  type AttemptLogs,
  LOG_LINE_OVERHEAD_BYTES,
  LogAppendSchema,
  type LogLine,
  MAX_LOG_BYTES_PER_ATTEMPT,
  MAX_LOG_LINES_PER_ATTEMPT,
  MAX_LOG_PAGE_LINES,
} from "@workflow/work";
import { requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { invalid, refuse } from "../errors.js";
import {
  type Holder,
  presentPlaced,
  toObjectId,
  type WorkDoc,
  type WorkView,
} from "../store/index.js";
import type { LogPosition } from "../store/logs.js";
import { requireClaimer } from "./claimant.js";
import type { ServiceContext } from "./context.js";
import type { FollowHub, Step } from "./follow.js";
import { requireReadable, requireVisible } from "./lifecycle.js";
import { parseWith } from "./validate.js";

/** Lines of the last attempt that `GET /work/:id` shows. */
export const SHOWN_LOG_LINES = 50;

/**
 * Appends a batch of output to an attempt's logs: only for the attempt that is running, fenced as
 * heartbeats are, and only from its claimer: a worker that lost its attempt cannot write into
 * another's.
 */
export async function appendLogs(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  { attempt, pipeline }: { attempt: number; pipeline?: string | undefined },
  holder: Holder,
  body: unknown,
): Promise<void> {
  requireScope(principal, "work:withdraw");
  const { lines } = parseWith(LogAppendSchema, body, "body");
  // A worker names the work's pipeline: the read goes to its shard (and a wrong one finds nothing).
  const doc = await ctx.store.findOne(id, pipeline);
  requireVisible(principal, id, doc);
  const work = doc as WorkDoc;
  if (work.status !== "running" || work.attempt !== attempt)
    throw refuse(
      "attempt_stale",
      `work ${id}: attempt ${attempt} is no longer running (the work is ${work.status} at attempt ${work.attempt}); its logs are closed`,
      { id, attempt, current: work.attempt, status: work.status },
    );
  requireClaimer(work.claim, holder, id, attempt);
  await ctx.store.logs.append(work, attempt, lines, {
    maxBytes: MAX_LOG_BYTES_PER_ATTEMPT,
    maxLines: MAX_LOG_LINES_PER_ATTEMPT,
  });
}

/**
 * Owners (with a token to deposit or read), admins and readers (`work:read`) may read a work and
 * its logs, within the token's pipelines: outside them it does not exist.
 */
async function readable(ctx: ServiceContext, principal: Principal, id: string): Promise<WorkDoc> {
  requireScope(principal, "work:read", "work:deposit");
  const doc = await ctx.store.findOne(id);
  requireReadable(principal, id, doc);
  return doc;
}

function attemptOf(work: WorkDoc, id: string, raw: unknown): number {
  if (raw === undefined || raw === "") return Math.max(1, work.attempt ?? 1);
  const attempt = Number(raw);
  if (!Number.isInteger(attempt) || attempt < 1)
    throw invalid(`attempt must be a whole number from 1: got "${String(raw)}"`);
  if (attempt > Math.max(1, work.attempt ?? 1))
    throw invalid(`work ${id} has had ${work.attempt ?? 0} attempts: ask for one of them`);
  return attempt;
}

export interface PageRequest {
  attempt?: unknown;
  /** Where the page starts: a previous page's `next`. */
  after?: unknown;
  limit?: unknown;
}

/**
 * One page of an attempt's logs (the work's latest attempt unless `attempt` names one): at most
 * `limit` lines (MAX_LOG_PAGE_LINES) from `after`, and `next` when more follow.
 */
export async function readLogs(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  request: PageRequest,
): Promise<AttemptLogs> {
  const work = await readable(ctx, principal, id);
  const attempt = attemptOf(work, id, request.attempt);
  const from = parseCursor(request.after);
  const limit = parseLimit(request.limit);
  const page = await ctx.store.logs.page(work, attempt, from, limit);
  return {
    id,
    attempt,
    cut: page.cut,
    lines: page.lines,
    ...(page.next ? { next: `${page.next.batch.toHexString()}-${page.next.line}` } : {}),
  };
}

const CURSOR = /^([0-9a-f]{24})-(\d{1,9})$/;

function parseCursor(raw: unknown): LogPosition | undefined {
  if (raw === undefined || raw === "") return undefined;
  const match = typeof raw === "string" ? CURSOR.exec(raw) : null;
  if (!match)
    throw invalid(
      `after must be the "next" of a previous page of these logs: got "${String(raw)}"`,
    );
  return { batch: toObjectId(match[1] as string), line: Number(match[2]) };
}

function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === "") return MAX_LOG_PAGE_LINES;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LOG_PAGE_LINES)
    throw invalid(
      `limit must be a whole number from 1 to ${MAX_LOG_PAGE_LINES}: got "${String(raw)}"`,
    );
  return limit;
}

/**
 * The text of an attempt's logs, batch by batch (never the whole of it in memory at once), with a
 * marker first where older output was cut.
 */
export async function* logText(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  rawAttempt: unknown,
): AsyncGenerator<string> {
  const work = await readable(ctx, principal, id);
  const attempt = attemptOf(work, id, rawAttempt);
  let first = true;
  for await (const batch of ctx.store.logs.each(work, attempt)) {
    if (first && (batch.cut ?? 0) > 0) yield cutMarker(batch.cut ?? 0);
    first = false;
    yield batch.lines.map((line) => `${line.text}\n`).join("");
  }
}

const cutMarker = (cut: number) =>
  `[... ${cut} bytes of earlier output were cut: an attempt keeps its last ${MAX_LOG_BYTES_PER_ATTEMPT} bytes (each line counting ${LOG_LINE_OVERHEAD_BYTES} more than its text) and ${MAX_LOG_LINES_PER_ATTEMPT} lines]\n`;

/**
 * Follows an attempt's logs through the hub (one poll for all its followers): `onStep` gets the
 * lines kept so far, then the new ones, and whether the attempt has ended (after which no line can
 * arrive: appends are fenced to the running attempt).
 */
export async function followLogs(
  ctx: ServiceContext,
  hub: FollowHub,
  principal: Principal,
  id: string,
  rawAttempt: unknown,
  onStep: (step: Step) => void,
): Promise<{ attempt: number; cut: number; stop: () => void }> {
  const work = await readable(ctx, principal, id);
  const attempt = attemptOf(work, id, rawAttempt);
  const { cut, stop } = await hub.follow(principal.sub, work, attempt, onStep);
  return { attempt, cut, stop };
}

/** One work as its reader sees it, with the last lines of its latest attempt. */
export async function showWork(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
): Promise<WorkView & { logs: { attempt: number; lines: LogLine[] } }> {
  const work = await readable(ctx, principal, id);
  const attempt = Math.max(1, work.attempt ?? 1);
  const lines = await ctx.store.logs.tail(work, attempt, SHOWN_LOG_LINES);
  return { ...presentPlaced(work), logs: { attempt, lines } };
}
