/** Small pieces every page shows: an error, a status badge. */

import { html } from "htm/preact";

/** An error under what failed, read out by screen readers. */
export function Problem({ error }: { error: string | undefined }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

/** A status as a badge, coloured by app.css (`s-<status>`). */
export function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`badge s-${status}`} data-status=${status}>${status}</span>`;
}
