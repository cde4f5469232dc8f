import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError } from "./api.js";

export { STATUSES } from "@workflow/work/statuses";

/** Unix seconds as local date and time, to the second. */
export function when(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null) return "";
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function duration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds * 10) / 10} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError) return `${error.message} (${error.status})`;
  return error instanceof Error ? error.message : String(error);
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * Loads `load()` now and again every `everyMs` (0: once), while the page is visible; a slow
 * answer is never overtaken by an older one. `key` changes start afresh.
 */
export function usePoll<T>(load: () => Promise<T>, everyMs: number, key: string): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setData(undefined);
    setError(undefined);
    const run = async () => {
      if (!live) return;
      if (document.visibilityState !== "hidden") {
        try {
          const value = await loader.current();
          if (!live) return;
          setData(value);
          setError(undefined);
        } catch (e) {
          if (!live) return;
          setError(messageOf(e));
        }
      }
      if (live && everyMs > 0) timer = setTimeout(run, everyMs);
    };
    void run();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [key, tick, everyMs]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function Problem({ error }: { error: string | undefined }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

export function StatusBadge({ status }: { status: string }) {
  return html`<span class=${`badge s-${status}`} data-status=${status}>${status}</span>`;
}
