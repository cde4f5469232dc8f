/** The Overview page: counts per pipeline, the last hour, and the workers. */

import type {
  ActivityMinutes as Minutes,
  PipelineCounts as Row,
  WorkerSeen as Worker,
} from "@workflow/work/activity-answers";
import { STATUSES } from "@workflow/work/statuses";
import { html } from "htm/preact";
import { get } from "../api.js";
import { MinuteChart } from "../chart.js";
import { duration, when } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import { Problem } from "../widgets.js";

/**
 * Heard from within this long, a worker is live: it polls again once a long-poll (at most a
 * minute) ends, and heartbeats more often than that while it runs a work.
 */
const LIVE_SECONDS = 90;

/** Running, idle (polling, nothing to run) or silent (no contact lately: stopped, or cut off). */
function stateOf(w: Worker, now: number): string {
  if (w.lastContact === undefined || now - w.lastContact > LIVE_SECONDS) return "silent";
  return w.running > 0 ? "running" : "idle";
}

function ago(seconds: number | undefined, now: number): string {
  if (seconds === undefined) return "";
  return `${duration(Math.max(0, now - seconds))} ago`;
}

/** Polled every 2 s: the counts come from indexes, the last hour from one covered index scan. */
const EVERY_MS = 2_000;

export function Overview() {
  const counts = usePoll(() => get<Row[]>("/activity/counts"), EVERY_MS, "counts");
  const minutes = usePoll(() => get<Minutes>("/activity/minutes"), EVERY_MS, "minutes");
  const workers = usePoll(() => get<Worker[]>("/activity/workers"), EVERY_MS, "workers");
  const rows = counts.data ?? [];
  const now = Date.now() / 1000;
  const totals = Object.fromEntries(
    (["total", ...STATUSES] as const).map((s) => [
      s,
      rows.reduce((sum, r) => sum + (r.counts[s] ?? 0), 0),
    ]),
  );
  const cell = (pipeline: string | undefined, status: string, n: number) => {
    const params: Record<string, string> = {};
    if (pipeline) params.pipeline = pipeline;
    if (status !== "total") params.status = status;
    return html`<td class="num" data-status=${status}>
      ${n > 0 ? html`<a href=${href("works", params)}>${n}</a>` : html`<span class="zero">0</span>`}
    </td>`;
  };
  return html`<section>
    <h2>Overview</h2>
    <${Problem} error=${counts.error} />
    <table class="counts" data-test="counts">
      <thead>
        <tr>
          <th>pipeline</th>
          ${["total", ...STATUSES].map((s) => html`<th class="num">${s}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) => html`<tr data-pipeline=${r.pipeline}>
            <th><a href=${href("works", { pipeline: r.pipeline })}>${r.pipeline}</a></th>
            ${(["total", ...STATUSES] as const).map((s) => cell(r.pipeline, s, r.counts[s] ?? 0))}
          </tr>`,
        )}
        ${
          counts.data && rows.length === 0
            ? html`<tr><td colspan="10" class="empty">No works yet.</td></tr>`
            : null
        }
      </tbody>
      <tfoot>
        <tr data-pipeline="">
          <th>all</th>
          ${["total", ...STATUSES].map((s) => cell(undefined, s, totals[s] ?? 0))}
        </tr>
      </tfoot>
    </table>
    <h3>Last hour</h3>
    <${Problem} error=${minutes.error} />
    <div class="charts">
      <${MinuteChart}
        title="succeeded"
        minutes=${minutes.data?.minutes ?? []}
        values=${minutes.data?.success ?? []}
        colour="#2e7d32"
      />
      <${MinuteChart}
        title="failed"
        minutes=${minutes.data?.minutes ?? []}
        values=${minutes.data?.failure ?? []}
        colour="#c62828"
      />
    </div>
    <h3>Workers seen recently</h3>
    <${Problem} error=${workers.error} />
    <table data-test="workers">
      <thead>
        <tr>
          <th>worker</th><th>state</th><th class="num">running</th><th>last contact</th>
          <th>last seen</th><th>serves</th>
        </tr>
      </thead>
      <tbody>
        ${(workers.data ?? []).map(
          (w) => html`<tr data-worker=${w.worker} data-state=${stateOf(w, now)}>
            <td data-user=${w.user} title=${w.user ? `as ${w.user}` : ""}>${w.worker}</td>
            <td data-test="state">${stateOf(w, now)}</td>
            <td class="num">${w.running}</td>
            <td data-test="contact">
              ${w.lastContact === undefined ? "none" : `${ago(w.lastContact, now)} (${w.contact})`}
            </td>
            <td>${when(w.lastSeen)}</td>
            <td data-test="serves">${w.pipelines.join(", ")}</td>
          </tr>`,
        )}
        ${
          workers.data?.length === 0
            ? html`<tr><td colspan="6" class="empty">No worker in the last 10 minutes.</td></tr>`
            : null
        }
      </tbody>
    </table>
  </section>`;
}
