/**
 * The results store: finished works kept after they left the queue, filtered as the Works page
 * filters (the one filter bar, the same URL parameters, the same query), counted, and paged by
 * `skip`, since results are kept in id order and only grow.
 */

import { RESULT_STATUSES, RESULTS_PREFIX } from "@workflow/work/results-paths";
import type { Work } from "@workflow/work/schema";
import { html } from "htm/preact";
import { post } from "../api.js";
import { FilterBar, queryOf } from "../filter-bar.js";
import { when } from "../format.js";
import { usePoll } from "../poll.js";
import { href } from "../router.js";
import { Problem, StatusBadge } from "../widgets.js";

const PAGE = 50;
const EVERY_MS = 10_000;
const FILTERS = ["pipeline", "status", "site", "tag", "user", "event"] as const;
const PROJECTION = {
  pipeline: 1,
  status: 1,
  user: 1,
  site: 1,
  tags: 1,
  event: 1,
  function: 1,
  command: 1,
  parameters: 1,
  results: 1,
  creation: 1,
  stop: 1,
};

/** A kept result as PROJECTION keeps it: the fields it names, of the work's own schema. */
type Row = Pick<Work, "pipeline" | "status" | "user" | "site"> &
  Partial<
    Pick<
      Work,
      "tags" | "event" | "function" | "command" | "parameters" | "results" | "creation" | "stop"
    >
  > & { id: string };

/** A cell's JSON, cut so that one large result does not stretch the table. */
const short = (value: unknown, max = 120) => {
  if (value === undefined || value === null) return "";
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};

/** Events are numbers: `event=7` in the URL asks for event 7, not the string "7". */
function resultsQuery(params: URLSearchParams): Record<string, unknown> {
  const query = queryOf(params, FILTERS);
  const event = Number(query.event);
  return typeof query.event === "string" && Number.isFinite(event) ? { ...query, event } : query;
}

export function Results({ params }: { params: URLSearchParams }) {
  const query = resultsQuery(params);
  const skip = Number(params.get("skip") ?? 0) || 0;
  const key = params.toString();
  const page = usePoll(
    () =>
      post<Row[]>(`${RESULTS_PREFIX}/view`, { query, projection: PROJECTION, skip, limit: PAGE }),
    EVERY_MS,
    key,
  );
  const count = usePoll(
    () => post<number>(`${RESULTS_PREFIX}/view/count`, { query }),
    EVERY_MS,
    JSON.stringify(query),
  );
  const rows = page.data ?? [];
  const at = (n: number) => {
    const next = new URLSearchParams(params);
    if (n > 0) next.set("skip", String(n));
    else next.delete("skip");
    return href("results", next);
  };
  return html`<section>
    <h2>Results</h2>
    <${FilterBar}
      page="results"
      params=${params}
      filters=${FILTERS}
      statuses=${RESULT_STATUSES}
    />
    <p class="hint" data-test="result-count">
      ${
        count.data === undefined
          ? ""
          : `${count.data} ${count.data === 1 ? "result matches" : "results match"}${
              rows.length > 0 ? `; showing ${skip + 1}–${skip + rows.length}` : ""
            }`
      }
    </p>
    <${Problem} error=${page.error ?? count.error} />
    <table class="works" data-test="results">
      <thead>
        <tr>
          <th>id</th><th>pipeline</th><th>status</th><th>user</th><th>site</th><th>tags</th>
          <th>event</th><th>what</th><th>parameters</th><th>results</th><th>created</th>
          <th>ended</th>
        </tr>
      </thead>
      <tbody>
        ${rows.map(
          (r) => html`<tr data-id=${r.id}>
            <td class="mono">${r.id}</td>
            <td>${r.pipeline}</td>
            <td><${StatusBadge} status=${r.status} /></td>
            <td>${r.user}</td>
            <td>${r.site}</td>
            <td>${(r.tags ?? []).join(", ")}</td>
            <td>${(r.event ?? []).join(", ")}</td>
            <td class="mono">${r.function ?? r.command?.join(" ") ?? ""}</td>
            <td class="mono params">${short(r.parameters)}</td>
            <td class="mono params" data-test="result">${short(r.results)}</td>
            <td>${when(r.creation)}</td>
            <td>${when(r.stop)}</td>
          </tr>`,
        )}
        ${
          page.data && rows.length === 0
            ? html`<tr><td colspan="12" class="empty">No results match.</td></tr>`
            : null
        }
      </tbody>
    </table>
    <nav class="pager">
      ${skip > 0 ? html`<a href=${at(0)} data-test="first">« first</a>` : null}
      ${skip > 0 ? html`<a href=${at(Math.max(0, skip - PAGE))} data-test="previous">‹ previous</a>` : null}
      ${rows.length === PAGE ? html`<a href=${at(skip + PAGE)} data-test="next">next ›</a>` : null}
    </nav>
  </section>`;
}
