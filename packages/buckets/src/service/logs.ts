import {
  type AttemptLogs,
  LogAppendSchema,
  type LogLine,
  MAX_LOG_BYTES_PER_ATTEMPT,
} from "@workflow/work";
import type { ObjectId } from "mongodb";
import { requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import { conflict, invalid } from "../errors.js";
import { type Holder, present, type WorkDoc, type WorkView } from "../store/index.js";
import { requireClaimer } from "./claimant.js";
import type { ServiceContext } from "./context.js";
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
  attempt: number,
  holder: Holder,
  body: unknown,
): Promise<void> {
  requireScope(principal, "work:withdraw");
  const { lines } = parseWith(LogAppendSchema, body, "body");
  const doc = await ctx.store.findOne(id);
  requireVisible(principal, id, doc);
  const work = doc as WorkDoc;
  if (work.status !== "running" || work.attempt !== attempt)
    throw conflict(
      `work ${id}: attempt ${attempt} is no longer running (the work is ${work.status} at attempt ${work.attempt}); its logs are closed`,
      { id, attempt, current: work.attempt, status: work.status },
    );
  requireClaimer(work.claim, holder, id, attempt);
  await ctx.store.logs.append(work, attempt, lines, MAX_LOG_BYTES_PER_ATTEMPT);
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

/** An attempt's logs (the work's latest attempt unless `attempt` names one). */
export async function readLogs(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  rawAttempt: unknown,
): Promise<AttemptLogs> {
  const work = await readable(ctx, principal, id);
  const attempt = attemptOf(work, id, rawAttempt);
  const { cut, lines } = await ctx.store.logs.read(work, attempt);
  return { id, attempt, cut, lines };
}

/** The text of an attempt's logs, with a marker where older output was cut. */
export function logText({ cut, lines }: Pick<AttemptLogs, "cut" | "lines">): string {
  const marker =
    cut > 0
      ? `[... ${cut} bytes of earlier output were cut: an attempt keeps its last ${MAX_LOG_BYTES_PER_ATTEMPT} bytes]\n`
      : "";
  return marker + lines.map((line) => `${line.text}\n`).join("");
}

export interface Following {
  attempt: number;
  cut: number;
  /** Lines that arrived since the last call (all of them, the first time). */
  next(): Promise<{ lines: LogLine[]; ended: boolean }>;
}

/**
 * Follows an attempt's logs: each `next` answers the lines that arrived since, and whether the
 * attempt has ended (after which no line can arrive: appends are fenced to the running attempt).
 */
export async function followLogs(
  ctx: ServiceContext,
  principal: Principal,
  id: string,
  rawAttempt: unknown,
): Promise<Following> {
  const work = await readable(ctx, principal, id);
  const attempt = attemptOf(work, id, rawAttempt);
  const first = await ctx.store.logs.read(work, attempt);
  let last: ObjectId | undefined = first.last;
  let pending: LogLine[] | undefined = first.lines;
  return {
    attempt,
    cut: first.cut,
    async next() {
      // Whether it ended is read before the lines: a line appended before the end is not missed.
      const now = await ctx.store.findOne(id);
      const ended = now?.status !== "running" || now.attempt !== attempt;
      const read = await ctx.store.logs.read(work, attempt, last);
      last = read.last;
      const lines = [...(pending ?? []), ...read.lines];
      pending = undefined;
      return { lines, ended };
    },
  };
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
  return { ...present(work), logs: { attempt, lines } };
}
