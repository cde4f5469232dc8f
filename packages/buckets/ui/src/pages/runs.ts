/** The Runs pages: the list, and one run with its graph, steps, events and controls. */

import type { RunSummary as Run } from "@workflow/work/runs-requests";
import { RUN_STATUSES } from "@workflow/work/statuses";
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get, post } from "../api.js";
import { messageOf, when } from "../format.js";
import { RunGraph, type Step } from "../graph.js";
import type { Session } from "../main.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import { Problem, StatusBadge } from "../widgets.js";

const EVERY_MS = 2_000;

export function Runs({ params }: { params: URLSearchParams }) {
  const status = params.get("status") ?? "";
  const runs = usePoll(
    () => get<Run[]>(`/runs?limit=100${status ? `&status=${encodeURIComponent(status)}` : ""}`),
    EVERY_MS,
    status,
  );
  return html`<section>
    <h2>Runs</h2>
    <p class="filters">
      ${["", ...RUN_STATUSES].map(
        (s) =>
          html`<a href=${href("runs", s ? { status: s } : {})} class=${s === status ? "active" : ""}
            >${s || "all"}</a
          > `,
      )}
    </p>
    <${Problem} error=${runs.error} />
    <table data-test="runs">
      <thead>
        <tr><th>run</th><th>name</th><th>status</th><th>user</th><th>pipelines</th><th>created</th><th>finished</th></tr>
      </thead>
      <tbody>
        ${(runs.data ?? []).map(
          (r) => html`<tr data-id=${r.id}>
            <td><a class="mono" href=${href(`runs/${r.id}`)}>${r.id}</a></td>
            <td>${r.name}</td>
            <td><${StatusBadge} status=${r.status} /></td>
            <td>${r.user}</td>
            <td>${r.pipelines.join(", ")}</td>
            <td>${when(r.created)}</td>
            <td>${when(r.finished)}</td>
          </tr>`,
        )}
        ${runs.data?.length === 0 ? html`<tr><td colspan="7" class="empty">No runs.</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}

/** What the run's own limits and pause say, on its page. */
function limits(r: Run) {
  const parts = [
    r.paused ? `paused since ${when(r.paused)}` : "",
    r.deadline && r.status === "running" ? `times out ${when(r.deadline)}` : "",
    r.maxParallel ? `at most ${r.maxParallel} works at once` : "",
  ].filter(Boolean);
  return parts.length > 0 ? html`<p data-test="limits">${parts.join(" · ")}</p>` : null;
}

/** A step's works as `workflow pipeline ps` says them: what a step made from results comes from. */
function worksOf(s: Step): string {
  if (!s.grows) return `${s.works}`;
  return s.grown ? `${s.works} (made at run time)` : s.grows;
}

/** Pause or resume a running run: what it is not, it offers. */
function pauseButton(r: Run, busy: boolean, act: (path: string, what: string) => void) {
  return r.paused
    ? html`<button data-action="resume-run" disabled=${busy} onClick=${() => act(`/runs/${r.id}/resume`, "resumed")}>
        Resume
      </button>`
    : html`<button data-action="pause-run" disabled=${busy} onClick=${() => act(`/runs/${r.id}/pause`, "paused")}>
        Pause
      </button>`;
}

export function RunPage({ session, id }: { session: Session; id: string }) {
  const run = usePoll(() => get<Run>(`/runs/${id}`), EVERY_MS, id);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [said, setSaid] = useState<string | undefined>(undefined);
  const act = async (path: string, body: unknown, what: string) => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await post<Record<string, unknown>>(path, body);
      setSaid(`${what}: ${JSON.stringify(answer)}`);
      run.reload();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  const r = run.data;
  if (!r) {
    return html`<section>
      <${Problem} error=${run.error} />
      ${run.error ? html`<p><a href=${href("runs")}>Runs</a></p>` : html`<p>Loading…</p>`}
    </section>`;
  }
  return html`<section data-test="run" data-status=${r.status} data-paused=${r.paused ? "yes" : "no"}>
    <h2>
      Run ${r.name} <${StatusBadge} status=${r.status} />
      ${r.paused ? html` <${StatusBadge} status="paused" />` : null}
    </h2>
    <p>
      <span class="mono">${r.id}</span> · ${r.user} · ${r.pipelines.join(", ")} ·
      ${`created ${when(r.created)}`}${r.finished ? ` · finished ${when(r.finished)}` : ""}
    </p>
    ${limits(r)}
    ${
      session.acts
        ? html`<div class="actions" data-test="actions">
            ${
              r.status === "running"
                ? html`${pauseButton(r, busy, (path, what) => act(path, {}, what))}
                    <button
                    class="danger"
                    data-action="cancel-run"
                    disabled=${busy}
                    onClick=${() => act(`/runs/${id}/cancel`, {}, "cancelled")}
                  >
                    Cancel run
                  </button>`
                : html`<button
                      data-action="rerun"
                      disabled=${busy}
                      onClick=${() => act(`/runs/${id}/rerun`, {}, "rerun")}
                    >
                      Rerun
                    </button>
                    <button
                      data-action="rerun-failed"
                      disabled=${busy}
                      onClick=${() => act(`/runs/${id}/rerun`, { failedOnly: true }, "rerun")}
                    >
                      Rerun failures
                    </button>
                    ${
                      r.status === "cancelled" || r.status === "timedout"
                        ? html`<button
                            data-action="rerun-unfinished"
                            disabled=${busy}
                            onClick=${() => act(`/runs/${id}/rerun`, { unfinishedOnly: true }, "rerun")}
                          >
                            Carry on (what did not succeed)
                          </button>`
                        : null
                    }`
            }
          </div>`
        : null
    }
    <${Problem} error=${error ?? run.error} />
    ${said ? html`<p class="done">${said}</p>` : null}
    <div class="graph-box"><${RunGraph} steps=${r.steps} events=${r.events ?? []} /></div>
    <h3>Steps</h3>
    <table data-test="steps">
      <thead><tr><th>step</th><th>state</th><th>if</th><th>works</th><th>reused from the cache</th></tr></thead>
      <tbody>
        ${r.steps.map(
          (s) =>
            html`<tr data-step=${s.name}>
              <td>${s.name}</td>
              <td><${StatusBadge} status=${s.state} /></td>
              <td class="mono" data-test="if">${s.if && s.if !== "success()" ? s.if : ""}</td>
              <td data-test="works">${worksOf(s)}</td>
              <td data-test="cached">${s.cached ?? 0}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h3>Events</h3>
    <table data-test="events">
      <thead><tr><th>at</th><th>event</th><th>step</th><th>detail</th></tr></thead>
      <tbody>
        ${(r.events ?? []).map(
          (e) => html`<tr>
            <td>${when(e.at)}</td>
            <td>${e.kind}</td>
            <td>${e.step ?? ""}</td>
            <td>${e.detail ?? ""}</td>
          </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}
