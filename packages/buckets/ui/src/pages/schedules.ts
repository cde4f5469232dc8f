/** The Schedules page: every schedule, its next fire times, enable and disable. */

import type { ScheduleView as Schedule, ScheduleDetail } from "@workflow/work/schedule";
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { get, post } from "../api.js";
import { messageOf, whenIn } from "../format.js";
import type { Session } from "../main.js";
import { usePoll } from "../poll.js";
import { Problem } from "../widgets.js";

const EVERY_MS = 5_000;

/** Schedules run in their own zone (UTC unless they name one): their times are shown in it. */
const zoneOf = (s: Schedule) => s.timezone ?? "UTC";

function NextTimes({ id, zone, paused }: { id: string; zone: string; paused: boolean }) {
  const detail = usePoll(() => get<ScheduleDetail>(`/schedules/${id}`), 0, id);
  if (detail.error) return html`<${Problem} error=${detail.error} />`;
  if (!detail.data) return html`<span>…</span>`;
  return detail.data.next.length
    ? html`<div>
        ${paused ? html`<small>if resumed now:</small>` : null}
        <ol class="next" data-test="next">
          ${detail.data.next.map((t) => html`<li>${whenIn(t, zone)}</li>`)}
        </ol>
      </div>`
    : html`<span class="empty">none</span>`;
}

export function Schedules({ session }: { session: Session }) {
  const list = usePoll(() => get<Schedule[]>("/schedules"), EVERY_MS, "schedules");
  const [open, setOpen] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const toggle = async (s: Schedule) => {
    setError(undefined);
    try {
      await post(`/schedules/${s.id}/${s.enabled ? "pause" : "resume"}`);
      list.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return html`<section>
    <h2>Schedules</h2>
    <${Problem} error=${error ?? list.error} />
    <table data-test="schedules">
      <thead>
        <tr><th>name</th><th>cron</th><th>user</th><th>state</th><th>next</th><th>fired</th><th></th></tr>
      </thead>
      <tbody>
        ${(list.data ?? []).map(
          (s) => html`<tr data-id=${s.id} data-name=${s.name}>
              <td>${s.name}</td>
              <td class="mono">${s.cron}${s.timezone ? ` (${s.timezone})` : ""}</td>
              <td>${s.user}</td>
              <td data-test="state">
                ${s.done ? "done" : s.enabled ? "active" : "paused"}
                ${s.pausedReason ? html`<br /><small>${s.pausedReason}</small>` : null}
              </td>
              <td>
                <span data-test="next-run">
                  ${s.done ? "" : s.enabled ? whenIn(s.nextRun, zoneOf(s)) : "paused"}
                </span>
                <button class="link" onClick=${() => setOpen(open === s.id ? null : s.id)}>
                  ${open === s.id ? "hide" : "next times"}
                </button>
                ${
                  open === s.id
                    ? html`<${NextTimes} id=${s.id} zone=${zoneOf(s)} paused=${!s.enabled} />`
                    : null
                }
              </td>
              <td class="num">${s.fired ?? 0}</td>
              <td>
                ${
                  session.acts && !s.done
                    ? html`<button data-action=${s.enabled ? "pause" : "resume"} onClick=${() => toggle(s)}>
                        ${s.enabled ? "Pause" : "Resume"}
                      </button>`
                    : null
                }
              </td>
            </tr>`,
        )}
        ${list.data?.length === 0 ? html`<tr><td colspan="7" class="empty">No schedules.</td></tr>` : null}
      </tbody>
    </table>
  </section>`;
}
