/** The page of one work: its fields, attempts, logs and outputs, and what may be done to it. */

import type { LogLine } from "@workflow/work/logs";
import type { HistoryEntry, Work as Stored } from "@workflow/work/schema";
import { isCancellable, REQUEUABLE_STATUSES } from "@workflow/work/statuses";
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, follow, get, post } from "../api.js";
import { duration, messageOf, when } from "../format.js";
import { JsonTree } from "../json.js";
import type { Session } from "../main.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import { Problem, StatusBadge } from "../widgets.js";

type Attempt = HistoryEntry;
/** GET /work/:id: the work, and the last lines of its latest attempt's logs. */
type Work = Stored & { id: string; logs: { attempt: number; lines: LogLine[] } };

const EVERY_MS = 2_000;

/** Whether the service's transition table lets a work in `status` take an action. */
const among = (statuses: readonly string[], status: string) => statuses.includes(status);

/** A product or plot is a link when it is one (a URL); a path is shown as it is. */
function Link({ target }: { target: string }) {
  return /^(https?|s3):\/\//.test(target)
    ? html`<a href=${target} target="_blank" rel="noopener noreferrer">${target}</a>`
    : html`<span class="mono">${target}</span>`;
}

/** The attempts on one time axis: each a bar from its start to its stop (or now). */
function Timeline({ history, now }: { history: Attempt[]; now: number }) {
  const starts = history.map((h) => h.start ?? now);
  const from = Math.min(...starts);
  const to = Math.max(from + 1, ...history.map((h) => h.stop ?? now));
  const span = to - from;
  return html`<table class="attempts" data-test="attempts">
    <thead>
      <tr><th>#</th><th>worker</th><th>start</th><th>stop</th><th>outcome</th><th class="bar"></th><th>error</th></tr>
    </thead>
    <tbody>
      ${history.map((h) => {
        const left = (((h.start ?? now) - from) / span) * 100;
        const width = Math.max(1, (((h.stop ?? now) - (h.start ?? now)) / span) * 100);
        return html`<tr data-attempt=${h.attempt}>
          <td class="num">${h.attempt}</td>
          <td>${h.worker ?? ""}</td>
          <td>${when(h.start)}</td>
          <td>${when(h.stop)}${h.start && h.stop ? ` (${duration(h.stop - h.start)})` : ""}</td>
          <td><${StatusBadge} status=${h.status} /></td>
          <td class="bar">
            <span class=${`span s-${h.status}`} style=${`left:${left}%;width:${width}%`}></span>
          </td>
          <td class="error-text">${h.error ?? ""}</td>
        </tr>`;
      })}
    </tbody>
  </table>`;
}

/** The attempt's output: its last lines, then what follows as it comes (SSE over fetch). */
function Logs({
  id,
  attempt,
  initial,
  live,
}: {
  id: string;
  attempt: number;
  initial: LogLine[];
  live: boolean;
}) {
  const [lines, setLines] = useState<LogLine[]>(initial);
  const [state, setState] = useState(live ? "following" : "ended");
  const [error, setError] = useState<string | undefined>(undefined);
  const box = useRef<HTMLPreElement>(null);
  useEffect(() => {
    const stop = new AbortController();
    const got: LogLine[] = [];
    setLines([]);
    setState("following");
    follow(
      `/work/${id}/logs?follow=true&attempt=${attempt}`,
      (event, data) => {
        if (event === "line") {
          got.push(data as LogLine);
          setLines([...got]);
        } else if (event === "end") setState("ended");
        else if (event === "error") setError((data as { message: string }).message);
      },
      stop.signal,
    )
      .then(() => setState((s) => (s === "following" ? "ended" : s)))
      .catch((e) => setError(messageOf(e)));
    return () => stop.abort();
  }, [id, attempt]);
  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);
  return html`<div class="logs">
    <p>
      ${`Attempt ${attempt} · `}<span data-test="log-state">${state === "following" ? "following…" : "ended"}</span>
    </p>
    <${Problem} error=${error} />
    <pre ref=${box} data-test="logs">${lines.map(
      (l) => html`<span class=${`line ${l.stream}`}>${`${l.text}\n`}</span>`,
    )}</pre>
  </div>`;
}

/** Output captured as text (stdout, stderr): shown as its lines, not as one escaped string. */
const TEXT_RESULTS = ["stdout", "stderr"] as const;

function Results({ results }: { results: Record<string, unknown> }) {
  const rest = { ...results };
  const texts: [string, string][] = [];
  for (const key of TEXT_RESULTS) {
    const value = results[key];
    if (typeof value !== "string") continue;
    delete rest[key];
    if (value !== "") texts.push([key, value]);
  }
  return html`<div data-test="results">
    ${Object.keys(rest).length ? html`<${JsonTree} value=${rest} />` : null}
    ${texts.map(
      ([key, text]) => html`<h4>${key}</h4>
        <pre class="output" data-test=${`results-${key}`}>${text}</pre>`,
    )}
  </div>`;
}

export function WorkPage({ session, id }: { session: Session; id: string }) {
  const work = usePoll(() => get<Work>(`/work/${id}`), EVERY_MS, id);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [gone, setGone] = useState(false);
  const w = work.data;
  const act = async (what: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await what();
      work.reload();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  if (gone)
    return html`<section><p>Work ${id} was deleted. <a href=${href("works")}>Works</a></p></section>`;
  if (!w) {
    return html`<section>
      <${Problem} error=${work.error} />
      ${work.error ? html`<p><a href=${href("works")}>Works</a></p>` : html`<p>Loading…</p>`}
    </section>`;
  }
  const now = Date.now() / 1000;
  const attempt = Math.max(1, w.attempt ?? 1);
  const fields: [string, unknown][] = [
    ["pipeline", w.pipeline],
    ["user", w.user],
    ["site", w.site],
    ["run", w.step === undefined ? undefined : w.config?.parent],
    ["step", w.step],
    ["matrix", w.matrix ? JSON.stringify(w.matrix) : undefined],
    ["attempt", w.attempt ?? 0],
    ["retries", w.retries],
    ["priority", w.priority],
    ["tags", w.tags?.join(", ")],
    ["event", w.event],
    ["function", w.function],
    ["command", w.command?.join(" ")],
    ["created", when(w.creation)],
    ["start", when(w.start)],
    ["stop", when(w.stop)],
    ["timeout", w.timeout === undefined ? undefined : duration(w.timeout)],
    ["key", w.key],
  ];
  return html`<section data-test="work" data-status=${w.status}>
    <h2>Work <span class="mono">${w.id}</span> <${StatusBadge} status=${w.status} /></h2>
    ${
      session.acts
        ? html`<div class="actions" data-test="actions">
            ${
              among(REQUEUABLE_STATUSES, w.status)
                ? html`<button
                    data-action="retry"
                    disabled=${busy}
                    onClick=${() => act(() => api("PUT", "/work", [{ id, status: "queued" }]))}
                  >
                    Retry
                  </button>`
                : null
            }
            ${
              isCancellable(w)
                ? html`<button
                    data-action="cancel"
                    disabled=${busy}
                    onClick=${() =>
                      act(async () => {
                        if (!confirm(`Cancel work ${id}? A running attempt is stopped.`)) return;
                        await post(`/work/${id}/cancel`);
                      })}
                  >
                    Cancel
                  </button>`
                : null
            }
            <button
              class="danger"
              data-action="delete"
              disabled=${busy}
              onClick=${() =>
                act(async () => {
                  if (!confirm(`Delete work ${id}?`)) return;
                  await api("DELETE", `/work?ids=${id}`);
                  setGone(true);
                })}
            >
              Delete
            </button>
          </div>`
        : null
    }
    <${Problem} error=${error ?? work.error} />
    ${
      w.cached
        ? html`<p class="note" data-test="cached">
            Reused from the cache: the success of work
            <a class="mono" href=${href(`work/${w.cached.from}`)}>${w.cached.from}</a>, which has the same
            key. This work did not run.
          </p>`
        : null
    }
    ${
      typeof w.results?.droppedBytes === "number"
        ? html`<p class="warning-text" data-test="dropped">${w.results.error}</p>`
        : null
    }
    <dl class="fields">
      ${fields
        .filter(([, v]) => v !== undefined && v !== "")
        .map(([k, v]) => html`<dt>${k}</dt><dd>${String(v)}</dd>`)}
    </dl>
    ${w.parameters ? html`<h3>Parameters</h3><${JsonTree} value=${w.parameters} />` : null}
    <h3>Attempts</h3>
    ${
      w.history?.length
        ? html`<${Timeline} history=${w.history} now=${now} />`
        : html`<p class="empty">${w.cached ? "None: reused from the cache." : "Not run yet."}</p>`
    }
    <h3>Results</h3>
    ${w.results ? html`<${Results} results=${w.results} />` : html`<p class="empty">None.</p>`}
    ${
      w.products?.length || w.plots?.length
        ? html`<h3>Products and plots</h3>
            <ul class="products">
              ${[...(w.products ?? []), ...(w.plots ?? [])].map((p) => html`<li><${Link} target=${p} /></li>`)}
            </ul>`
        : null
    }
    <h3>Logs</h3>
    ${
      w.history?.length
        ? html`<${Logs}
            key=${`${id}-${attempt}`}
            id=${id}
            attempt=${attempt}
            initial=${w.logs.lines}
            live=${w.status === "running"}
          />`
        : html`<p class="empty">No attempt yet.</p>`
    }
  </section>`;
}
