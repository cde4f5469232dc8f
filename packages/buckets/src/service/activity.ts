/**
 * The dashboard's activity: counts per pipeline, the last hour by the minute, and the workers seen.
 */

import {
  type ActivityMinutes,
  type PipelineCounts,
  STATUSES,
  type Status,
  type WorkerSeen,
} from "@workflow/work";
import { requireScope } from "../auth/access.js";
import type { Principal } from "../auth/tokens.js";
import type { ServiceContext } from "./context.js";

/** The dashboard's window: the last hour, by the minute. */
export const ACTIVITY_MINUTES = 60;
/** Workers seen within this many seconds (running now, or stopped since). */
export const WORKERS_WINDOW_SECONDS = 600;
/** The most running works, and the most recently stopped ones, read to name the workers. */
export const WORKERS_READ_LIMIT = 2_000;

/** Pipelines x statuses, from the same index counts as /status (shared, never a scan). */
export async function countTable(
  ctx: ServiceContext,
  principal: Principal,
): Promise<PipelineCounts[]> {
  requireScope(principal, "work:read");
  const table = new Map<string, Record<Status | "total", number>>();
  for (const { pipeline, status, n } of await ctx.store.countByPipelineAndStatus()) {
    if (principal.pipelines && !principal.pipelines.includes(pipeline)) continue;
    let counts = table.get(pipeline);
    if (!counts) {
      counts = Object.fromEntries(["total", ...STATUSES].map((s) => [s, 0])) as Record<
        Status | "total",
        number
      >;
      table.set(pipeline, counts);
    }
    counts[status] += n;
    counts.total += n;
  }
  return [...table.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([pipeline, counts]) => ({ pipeline, counts }));
}

/** Works that ended in success or failure, per minute of the last hour, by their stop time. */
export async function minutes(ctx: ServiceContext, principal: Principal): Promise<ActivityMinutes> {
  requireScope(principal, "work:read");
  const current = Math.floor(ctx.now() / 60) * 60;
  const first = current - (ACTIVITY_MINUTES - 1) * 60;
  const rows = await ctx.store.activity.endedPerMinute(first, principal.pipelines);
  const result: ActivityMinutes = {
    minutes: Array.from({ length: ACTIVITY_MINUTES }, (_, i) => first + i * 60),
    success: new Array(ACTIVITY_MINUTES).fill(0),
    failure: new Array(ACTIVITY_MINUTES).fill(0),
  };
  for (const row of rows) {
    const at = Math.floor((row.minute - first) / 60);
    if (at >= 0 && at < ACTIVITY_MINUTES)
      result[row.status][at] = (result[row.status][at] ?? 0) + row.n;
  }
  return result;
}

/** The most workers' contacts read. */
const CONTACTS_READ_LIMIT = 500;

/**
 * Workers heard from in the last WORKERS_WINDOW_SECONDS: by a poll or a heartbeat (so an idle
 * worker that still polls is there, with when it last asked), or by running works or stopping one.
 */
export async function workersSeen(
  ctx: ServiceContext,
  principal: Principal,
): Promise<WorkerSeen[]> {
  requireScope(principal, "work:read");
  const since = ctx.now() - WORKERS_WINDOW_SECONDS;
  // Keyed by user and worker: two users' workers of the same name are two workers.
  const seen = new Map<string, WorkerSeen>();
  const entry = (key: string, name: string) => {
    const worker = seen.get(key) ?? { worker: name, running: 0, lastSeen: 0, pipelines: [] };
    seen.set(key, worker);
    return worker;
  };
  const [sightings, contacts] = await Promise.all([
    ctx.store.activity.sightings(since, WORKERS_READ_LIMIT, principal.pipelines),
    ctx.store.contacts.since(since, CONTACTS_READ_LIMIT),
  ]);
  for (const c of contacts) {
    // A token limited to pipelines sees the workers serving them, and only those pipelines.
    const serves = principal.pipelines
      ? c.pipelines.filter((p) => principal.pipelines?.includes(p))
      : c.pipelines;
    if (principal.pipelines && serves.length === 0) continue;
    const worker = entry(`${c.user}\u0000${c.worker}`, c.worker);
    worker.user = c.user;
    worker.lastContact = c.at;
    worker.contact = c.via;
    worker.lastSeen = Math.max(worker.lastSeen, c.at);
    for (const p of serves) if (!worker.pipelines.includes(p)) worker.pipelines.push(p);
  }
  const byName = new Map<string, WorkerSeen>();
  for (const w of seen.values()) if (!byName.has(w.worker)) byName.set(w.worker, w);
  for (const s of sightings) {
    // An attempt records the worker's name only: it counts for the first contact of that name.
    const worker = byName.get(s.worker) ?? entry(`\u0000${s.worker}`, s.worker);
    byName.set(s.worker, worker);
    if (s.status === "running") worker.running += 1;
    worker.lastSeen = Math.max(worker.lastSeen, s.at);
    if (!worker.pipelines.includes(s.pipeline)) worker.pipelines.push(s.pipeline);
  }
  return [...seen.values()].sort((a, b) => b.lastSeen - a.lastSeen);
}
