/** JSON shown as a tree of foldable parts. */

import { html } from "htm/preact";

/** JSON as nested <details>: the first levels open, deeper ones folded. */
export function JsonTree({
  value,
  name,
  depth = 0,
}: {
  value: unknown;
  name?: string;
  depth?: number;
}) {
  const label = name === undefined ? "" : html`<span class="key">${name}</span>: `;
  if (value === null || typeof value !== "object") {
    return html`<div class="leaf">${label}<span class=${`v-${typeof value}`}>${JSON.stringify(value)}</span></div>`;
  }
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value as Record<string, unknown>);
  const shape = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
  return html`<details open=${depth < 1} class="json">
    <summary>${label}<span class="shape">${shape}</span></summary>
    ${entries.map(([k, v]) => html`<${JsonTree} value=${v} name=${k} depth=${depth + 1} />`)}
  </details>`;
}
