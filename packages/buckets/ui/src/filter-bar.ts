import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { href, navigate } from "./router.js";

/**
 * The filter bar of the Works and Results pages: one form, the filters kept in the page's URL
 * (`pipeline`, `status`, ..., `params`), so a reload or a shared link keeps them, and one reading
 * of the URL into a query, so both pages filter alike.
 */

/** The URL parameter of the `parameters.<key>=<value>` lines. */
const PARAMS = "params";

/** `parameters.<key>=<value>` lines: a value that reads as JSON (a number, true) is that value. */
function parameterFilters(text: string): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const line of text.split(/\n|;/)) {
    const at = line.indexOf("=");
    if (at <= 0) continue;
    const key = line
      .slice(0, at)
      .trim()
      .replace(/^parameters\./, "");
    const raw = line.slice(at + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // a plain string
    }
    if (key) query[`parameters.${key}`] = value;
  }
  return query;
}

/** The query POST /view understands (and the results store's), from the filters in the URL. */
export function queryOf(
  params: URLSearchParams,
  filters: readonly string[],
): Record<string, unknown> {
  const query: Record<string, unknown> = {};
  for (const name of filters) {
    const value = params.get(name);
    if (!value) continue;
    query[name === "tag" ? "tags" : name] = value;
  }
  return { ...query, ...parameterFilters(params.get(PARAMS) ?? "") };
}

export interface FilterBarProps {
  /** The route the filters apply to (`works`, `results`). */
  page: string;
  params: URLSearchParams;
  /** The filters shown, in order; `status` is a choice among `statuses`. */
  filters: readonly string[];
  statuses: readonly string[];
}

export function FilterBar({ page, params, filters, statuses }: FilterBarProps) {
  const [form, setForm] = useState<Record<string, string>>({});
  const value = (name: string) => form[name] ?? params.get(name) ?? "";
  const set = (name: string) => (e: Event) =>
    setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  const apply = (e: Event) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const name of [...filters, PARAMS]) {
      const v = value(name).trim();
      if (v) next.set(name, v);
    }
    setForm({});
    navigate(page, next);
  };
  const field = (name: string) =>
    name === "status"
      ? html`<label
          >status
          <select name="status" value=${value("status")} onChange=${set("status")}>
            <option value="">any</option>
            ${statuses.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </label>`
      : html`<label>${name}<input name=${name} value=${value(name)} onInput=${set(name)} /></label>`;
  return html`<form class="filters" onSubmit=${apply} data-test="filters">
    ${filters.map(field)}
    <label class="wide"
      >parameters
      <input
        name=${PARAMS}
        placeholder="key=value; other=3"
        value=${value(PARAMS)}
        onInput=${set(PARAMS)}
      />
    </label>
    <button type="submit">Filter</button>
    <a href=${href(page)}>clear</a>
  </form>`;
}
