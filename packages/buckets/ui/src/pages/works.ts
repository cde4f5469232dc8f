import { type BulkProgress, bulkInPages } from "@workflow/work/bulk";
import type { Work } from "@workflow/work/schema";
import { STATUSES } from "@workflow/work/statuses";
import { WORKS_PAGE_PROJECTION } from "@workflow/work/views";
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { post } from "../api.js";
import { FilterBar, queryOf } from "../filter-bar.js";
import { duration, messageOf, when } from "../format.js";
import type { Session } from "../main.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import { Problem, StatusBadge } from "../widgets.js";

const PAGE = 50;
/** Refreshes the page in view; its cursor (`before`) stays, so rows never shift under the reader. */
const EVERY_MS = 5_000;
/** The match count is a count over the whole filter: refreshed less often than the page. */
const COUNT_EVERY_MS = 15_000;
const FILTERS = ["pipeline", "step", "status", "site", "tag", "user", "event"] as const;
/** A work as WORKS_PAGE_PROJECTION keeps it: the fields it names, of the work's own schema. */
type Row = Pick<Work, "pipeline" | "status" | "user" | "site"> &
  Partial<
    Pick<
      Work,
      | "tags"
      | "function"
      | "command"
      | "creation"
      | "attempt"
      | "parameters"
      | "start"
      | "stop"
      | "step"
      | "matrix"
    >
  > & {
    id: string;
    history?: { error?: string }[];
    results?: { error?: string };
    /** When the service received it: the page's order, and its cursor. */
    arrived: number;
  };

/** A run's work by its step and combination: `fit [alpha=1, beta=2]`. */
function placeOf(w: Row): string {
  if (w.step === undefined) return "";
  const combo = Object.entries(w.matrix ?? {}).map(
    ([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`,
  );
  return combo.length > 0 ? `${w.step} [${combo.join(", ")}]` : w.step;
}

/** What went wrong: the last attempt's error, or why the results were not kept. */
function errorOf(w: Row): { text: string; warning: boolean } | undefined {
  const last = w.history?.at(-1)?.error;
  if (w.status === "failure" && last) return { text: last, warning: false };
  if (w.results?.error) return { text: w.results.error, warning: w.status !== "failure" };
  return last && w.status !== "success" ? { text: last, warning: false } : undefined;
}

/** How long its last attempt ran (so far, for a running one). */
function durationOf(w: Row, now: number): string {
  if (w.start === undefined) return "";
  if (w.stop !== undefined && w.stop >= w.start) return duration(w.stop - w.start);
  return w.status === "running" ? `${duration(Math.max(0, now - w.start))}…` : "";
}

/** `before=<arrived>_<id>` in the URL: the last work of the page before. */
function beforeOf(params: URLSearchParams): { arrived: number; id: string } | undefined {
  const [arrived, id] = (params.get("before") ?? "").split("_");
  return arrived && id && Number.isFinite(Number(arrived))
    ? { arrived: Number(arrived), id }
    : undefined;
}

const ACTIONS = {
  retry: "Retry",
  cancel: "Cancel",
  delete: "Delete",
} as const;
type Action = keyof typeof ACTIONS;

function Bulk({ query, onDone }: { query: Record<string, unknown>; onDone: () => void }) {
  const [asking, setAsking] = useState<{ action: Action; count: number } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [result, setResult] = useState<(BulkProgress & { action: Action }) | null>(null);
  const ask = async (action: Action) => {
    setError(undefined);
    setResult(null);
    try {
      setAsking({ action, count: await post<number>("/view/count", { query }) });
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const confirm = async () => {
    if (!asking) return;
    const { action, count } = asking;
    setBusy(true);
    setAsking(null);
    try {
      // Page after page: the progress line moves as each page is done.
      await bulkInPages(
        (request) => post("/work/bulk", request),
        { query, action, confirmed: count },
        { onPage: (p) => setResult({ ...p, reasons: [...p.reasons], action }) },
      );
      onDone();
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="bulk" data-test="bulk">
    <span>All works matching the filter:</span>
    ${(Object.keys(ACTIONS) as Action[]).map(
      (a) =>
        html`<button data-action=${a} disabled=${busy} onClick=${() => ask(a)}>
          ${ACTIONS[a]}…
        </button>`,
    )}
    ${
      asking
        ? html`<div class="confirm" role="dialog" data-test="confirm">
            <p>
              ${ACTIONS[asking.action]} <strong data-test="count">${asking.count}</strong>
              ${asking.count === 1 ? " work" : " works"} matching this filter? Each goes through
              the same checks as the CLI (owner or admin).
            </p>
            <button class="danger" disabled=${busy || asking.count === 0} onClick=${confirm}>
              ${ACTIONS[asking.action]} ${asking.count}
            </button>
            <button onClick=${() => setAsking(null)}>Back</button>
          </div>`
        : null
    }
    ${
      result
        ? html`<p class="done" data-test="bulk-result">
            ${ACTIONS[result.action]}: ${result.done} of ${result.confirmed} done${
              result.refused ? `, ${result.refused} refused` : ""
            }${result.complete ? "" : busy ? "…" : " (stopped: run it again to carry on)"}
            ${result.reasons.map((r) => html`<br /><small>${r.message}</small>`)}
          </p>`
        : busy
          ? html`<p class="done" data-test="bulk-working">Working…</p>`
          : null
    }
    <${Problem} error=${error} />
  </div>`;
}

export function Works({ session, params }: { session: Session; params: URLSearchParams }) {
  const query = queryOf(params, FILTERS);
  const before = beforeOf(params);
  const key = params.toString();
  const page = usePoll(
    () =>
      post<Row[]>("/view", {
        query,
        projection: WORKS_PAGE_PROJECTION,
        limit: PAGE,
        order: "arrival",
        ...(before ? { before } : {}),
      }),
    EVERY_MS,
    key,
  );
  const filterKey = JSON.stringify(query);
  const matches = usePoll(() => post<number>("/view/count", { query }), COUNT_EVERY_MS, filterKey);
  const rows = page.data ?? [];
  const last = rows.at(-1);
  const nextPage = new URLSearchParams(params);
  if (last) nextPage.set("before", `${last.arrived}_${last.id}`);
  const first = new URLSearchParams(params);
  first.delete("before");
  const now = Date.now() / 1000;
  return html`<section>
    <h2>Works</h2>
    <${FilterBar} page="works" params=${params} filters=${FILTERS} statuses=${STATUSES} />
    <p class="matches" data-test="matches">
      ${
        matches.data === undefined
          ? ""
          : `${matches.data} ${matches.data === 1 ? "work matches" : "works match"}, newest first`
      }
    </p>
    ${
      session.acts
        ? html`<${Bulk}
            query=${query}
            onDone=${() => {
              page.reload();
              matches.reload();
            }}
          />`
        : null
    }
    <${Problem} error=${page.error} />
    <table class="works" data-test="works">
      <thead>
        <tr>
          <th>id</th><th>pipeline</th><th>step</th><th>status</th><th>user</th><th>site</th><th>tags</th>
          <th>what</th><th>parameters</th><th>arrived</th><th class="num">attempt</th>
          <th class="num">duration</th><th>error</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (w) => html`<tr data-id=${w.id}>
            <td><a href=${href(`work/${w.id}`)} class="mono">${w.id}</a></td>
            <td>${w.pipeline}</td>
            <td class="step">${placeOf(w)}</td>
            <td><${StatusBadge} status=${w.status} /></td>
            <td>${w.user}</td>
            <td>${w.site}</td>
            <td>${(w.tags ?? []).join(", ")}</td>
            <td class="mono">${w.function ?? w.command?.join(" ") ?? ""}</td>
            <td class="mono params">${w.parameters ? JSON.stringify(w.parameters) : ""}</td>
            <td>${when(w.arrived)}</td>
            <td class="num">${w.attempt ?? 0}</td>
            <td class="num" data-test="duration">${durationOf(w, now)}</td>
            <td class=${errorOf(w)?.warning ? "warning-text" : "error-text"} data-test="error">
              ${errorOf(w)?.text ?? ""}
            </td>
          </tr>`,
        )}
        ${
          page.data && rows.length === 0
            ? html`<tr><td colspan="13" class="empty">No works match.</td></tr>`
            : null
        }
      </tbody>
    </table>
    <nav class="pager">
      ${before ? html`<a href=${href("works", first)} data-test="first">« newest</a>` : null}
      ${
        before
          ? html`<button class="link" onClick=${() => history.back()} data-test="previous">
              ‹ previous
            </button>`
          : null
      }
      ${
        rows.length === PAGE
          ? html`<a href=${href("works", nextPage)} data-test="next">next ›</a>`
          : null
      }
    </nav>
  </section>`;
}
